using MobileNeXt.Models;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Inference;

/// <summary>
/// Classifies images with a trained model: decode, the eval preprocessing the trainer validates with
/// (<see cref="EvalPreprocessing"/>, by default shorter side 256 bicubic, centre crop 224, ImageNet mean/std),
/// a forward pass through a BatchNorm-folded copy of the model, softmax, top-k.
/// </summary>
public sealed class ImagePredictor : IDisposable
{
    private readonly ImageClassifier model;
    private readonly bool ownsModel;

    /// <summary>Creates a predictor. The model is not changed: a fused eval-mode copy is made unless <paramref name="fuse"/> is false.</summary>
    /// <param name="model">A trained classifier.</param>
    /// <param name="labels">Class names, one per output (e.g. from <see cref="LoadLabels"/>); null gives indices only.</param>
    /// <param name="preprocessing">Defaults to <see cref="EvalPreprocessing.ImageNet"/>.</param>
    /// <param name="fuse">Fold BatchNorm into the convs for speed (outputs equal within 1e-5).</param>
    /// <param name="channelsLast">Hand the model channels-last batches (<see cref="MemoryLayout"/>): libtorch's CPU convolutions then skip
    /// reordering every activation (about 10 % faster at batch 1 on the machines in <c>bench/</c>); outputs differ only by float rounding.</param>
    /// <exception cref="ArgumentException">The labels do not match the model's classes, or the model has no classifier.</exception>
    public ImagePredictor(ImageClassifier model, IReadOnlyList<string>? labels = null, EvalPreprocessing? preprocessing = null, bool fuse = true,
        bool channelsLast = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.NumClasses == 0)
            throw new ArgumentException("The model has no classifier (NumClasses = 0); call ResetClassifier(classes) and load trained weights first.", nameof(model));
        if (labels is not null && labels.Count != model.NumClasses)
            throw new ArgumentException($"{labels.Count} labels were given for a model with {model.NumClasses} classes; give one label per class, in class-index order.", nameof(labels));
        TorchRuntime.EnsureAvailable();
        Labels = labels;
        Preprocessing = preprocessing ?? EvalPreprocessing.ImageNet;
        ChannelsLast = channelsLast;
        ownsModel = fuse && !model.IsFused;
        this.model = ownsModel ? model.Fuse() : model;
        if (!ownsModel) model.eval();
    }

    /// <summary>Class names, or null.</summary>
    public IReadOnlyList<string>? Labels { get; }

    /// <summary>Whether batches reach the model with channels-last strides.</summary>
    public bool ChannelsLast { get; }

    /// <summary>The preprocessing applied to every image.</summary>
    public EvalPreprocessing Preprocessing { get; }

    /// <summary>Reads class names from a text file, one per line (blank lines ignored), as ImageNet's synset files are laid out.</summary>
    public static IReadOnlyList<string> LoadLabels(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Labels file '{path}' does not exist.", path);
        return File.ReadLines(path).Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
    }

    /// <summary>Top-k classes of the image file at <paramref name="path"/> (JPEG or PNG).</summary>
    public IReadOnlyList<Prediction> Predict(string path, int topK = 5)
    {
        using var image = ImageDecoding.DecodeRgb(path);
        return Predict(image, topK);
    }

    /// <summary>Top-k classes of an encoded image read from <paramref name="stream"/>.</summary>
    public IReadOnlyList<Prediction> Predict(Stream stream, int topK = 5)
    {
        using var image = ImageDecoding.DecodeRgb(stream);
        return Predict(image, topK);
    }

    /// <summary>Top-k classes of an encoded image held in memory.</summary>
    public IReadOnlyList<Prediction> Predict(ReadOnlySpan<byte> encoded, int topK = 5)
    {
        using var image = ImageDecoding.DecodeRgb(encoded);
        return Predict(image, topK);
    }

    /// <summary>Top-k classes of a decoded image.</summary>
    public IReadOnlyList<Prediction> Predict(SKBitmap image, int topK = 5)
    {
        using var batch = Preprocessing.ToTensor(image);
        return PredictBatch(batch, topK)[0];
    }

    /// <summary>Top-k classes of several image files, run as one batch.</summary>
    public IReadOnlyList<IReadOnlyList<Prediction>> PredictFiles(IReadOnlyList<string> paths, int topK = 5)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var images = new List<SKBitmap>();
        try
        {
            foreach (var p in paths) images.Add(ImageDecoding.DecodeRgb(p));
            using var batch = Preprocessing.ToBatch(images);
            return PredictBatch(batch, topK);
        }
        finally
        {
            foreach (var i in images) i.Dispose();
        }
    }

    /// <summary>
    /// Top-k classes for each row of an already preprocessed N×3×H×W float batch (e.g. from
    /// <see cref="EvalPreprocessing.ToBatch"/>).
    /// </summary>
    public IReadOnlyList<IReadOnlyList<Prediction>> PredictBatch(Tensor batch, int topK = 5)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (topK < 1) throw new ArgumentOutOfRangeException(nameof(topK), topK, "topK must be at least 1.");
        int k = Math.Min(topK, model.NumClasses);
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        var input = ChannelsLast && batch.dim() == 4 ? MemoryLayout.ToChannelsLast(batch) : batch;
        var probabilities = nn.functional.softmax(model.call(input), 1);
        var (values, indices) = probabilities.topk(k, dim: 1);
        var p = values.data<float>().ToArray();
        var i = indices.data<long>().ToArray();
        var result = new List<IReadOnlyList<Prediction>>();
        for (int row = 0; row < batch.shape[0]; row++)
            result.Add(Enumerable.Range(row * k, k).Select(j => new Prediction((int)i[j], Labels?[(int)i[j]], p[j])).ToList());
        return result;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (ownsModel) model.Dispose();
    }
}
