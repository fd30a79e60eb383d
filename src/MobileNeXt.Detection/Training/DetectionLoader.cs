using MobileNeXt.Detection.Boxes;
using MobileNeXt.Detection.Data;
using MobileNeXt.Training.Data;
using static TorchSharp.torch;

namespace MobileNeXt.Detection.Training;

/// <summary>How <see cref="DetectionLoader"/> reads.</summary>
public sealed record DetectionLoaderOptions
{
    /// <summary>Images per batch. Default 24 (the released recipe's per-GPU batch).</summary>
    public int BatchSize { get; init; } = 24;

    /// <summary>Threads decoding and augmenting the images of a batch. Default 2.</summary>
    public int Workers { get; init; } = 2;

    /// <summary>Apply SSD's training augmentation (and drop difficult objects); off for evaluation.</summary>
    public bool Augment { get; init; } = true;

    /// <summary>
    /// Largest zoom-out of the augmentation (<see cref="SsdAugmentation.Expand"/>): the canvas side relative to the
    /// image. Default SSD's 4; 1 for none.
    /// </summary>
    public double MaxZoomOut { get; init; } = SsdAugmentation.DefaultMaxExpand;

    /// <summary>IoU from which a prior is a positive of a ground-truth box (<see cref="PriorMatcher.Match"/>). Default SSD's 0.5.</summary>
    public double IouThreshold { get; init; } = 0.5;

    /// <summary>Shuffle the order every epoch (seeded by <see cref="Seed"/> and the epoch).</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>Seed of the order and of every augmentation draw.</summary>
    public int Seed { get; init; }

    /// <summary>Drop a last, smaller batch.</summary>
    public bool DropLast { get; init; } = true;

    /// <summary>This process's rank among <see cref="WorldSize"/> data-parallel processes (each reads its shard of every epoch). Default 0.</summary>
    public int Rank { get; init; }

    /// <summary>Data-parallel processes. Default 1.</summary>
    public int WorldSize { get; init; } = 1;
}

/// <summary>One batch of detection training data: images and, per prior, the matched class and box regression.</summary>
public sealed class DetectionBatch(Tensor images, Tensor labels, Tensor locations, int[] indices, int batchIndex = 0) : MobileNeXt.Training.ITrainingBatch
{
    /// <summary>Position of the batch in this process's epoch, from 0.</summary>
    public int BatchIndex { get; } = batchIndex;

    /// <summary>Images in the batch.</summary>
    public int Count => Indices.Count;

    /// <summary>[N, 3, S, S] normalised images.</summary>
    public Tensor Images { get; } = images;

    /// <summary>[N, P] classes per prior (0 = background), int64.</summary>
    public Tensor Labels { get; } = labels;

    /// <summary>[N, P, 4] target regressions.</summary>
    public Tensor Locations { get; } = locations;

    /// <summary>Dataset indices of the images.</summary>
    public IReadOnlyList<int> Indices { get; } = indices;

    /// <inheritdoc/>
    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
        Locations.Dispose();
    }
}

/// <summary>
/// Reads a detection dataset in batches for SSD training: decode, SSD augmentation (seeded per epoch and image, so
/// an epoch reads the same whatever the thread count), resize to the detector's input, and the prior matching of
/// <see cref="PriorMatcher"/>.
/// </summary>
public sealed class DetectionLoader
{
    private readonly IDetectionDataset dataset;
    private readonly CornerPriors priors;
    private readonly SsdLiteOptions model;

    /// <summary>A loader of <paramref name="dataset"/> for a detector with <paramref name="modelOptions"/> and <paramref name="priors"/>.</summary>
    public DetectionLoader(IDetectionDataset dataset, Tensor priors, SsdLiteOptions modelOptions, DetectionLoaderOptions? options = null)
    {
        this.dataset = dataset ?? throw new ArgumentNullException(nameof(dataset));
        this.priors = CornerPriors.From(priors ?? throw new ArgumentNullException(nameof(priors)));
        model = modelOptions ?? throw new ArgumentNullException(nameof(modelOptions));
        Options = options ?? new DetectionLoaderOptions();
        if (Options.IouThreshold is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(options), Options.IouThreshold, "IouThreshold must lie in (0, 1] (SSD's is 0.5).");
        if (Options.MaxZoomOut < 1) throw new ArgumentOutOfRangeException(nameof(options), Options.MaxZoomOut, "MaxZoomOut must be at least 1 (1: no zoom-out).");
        if (Options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), Options.BatchSize, "BatchSize must be at least 1.");
        if (dataset.Count == 0) throw new ArgumentException("The detection dataset holds no images.", nameof(dataset));
        if (dataset.Classes.Count + 1 != model.NumClasses)
            throw new ArgumentException($"The dataset has {dataset.Classes.Count} classes, so the detector needs NumClasses = {dataset.Classes.Count + 1} (with background); it has {model.NumClasses}.", nameof(modelOptions));
    }

    /// <summary>The options read with.</summary>
    public DetectionLoaderOptions Options { get; }

    /// <summary>Batches per epoch on this process: every rank takes as many (⌊N / ranks⌋ / batch), so they stay in lock-step.</summary>
    public int BatchesPerEpoch
    {
        get
        {
            int shard = dataset.Count / Options.WorldSize;
            return Options.DropLast ? shard / Options.BatchSize : (shard + Options.BatchSize - 1) / Options.BatchSize;
        }
    }

    /// <summary>The batches of epoch <paramref name="epoch"/>, in order.</summary>
    public IEnumerable<DetectionBatch> ReadEpoch(int epoch, CancellationToken cancellationToken = default) => ReadEpoch(epoch, 0, cancellationToken);

    /// <summary>
    /// The batches of epoch <paramref name="epoch"/> from batch <paramref name="firstBatch"/> on, the earlier ones not
    /// decoded (a run resumed mid-epoch): this process's shard of the epoch's order, every draw seeded by (seed, epoch, image).
    /// </summary>
    public IEnumerable<DetectionBatch> ReadEpoch(int epoch, int firstBatch, CancellationToken cancellationToken = default)
    {
        var order = new EpochSampler(dataset.Count, new EpochSamplerOptions
        {
            Shuffle = Options.Shuffle, Seed = Options.Seed, Rank = Options.Rank, WorldSize = Options.WorldSize,
        }).ShardIndices(epoch);
        for (int b = Math.Max(0, firstBatch); b < BatchesPerEpoch; b++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var indices = order.Skip(b * Options.BatchSize).Take(Options.BatchSize).ToArray();
            // Workers decode, augment and match (managed code only: PriorMatcher's array form calls no libtorch); the
            // size ratios' log (one libtorch call) and the batch's three tensors are made here, each from one array.
            var samples = new (float[] Chw, long[] Labels, float[] Locations)[indices.Length];
            Parallel.For(0, indices.Length, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Options.Workers) }, i =>
                samples[i] = Load(indices[i], epoch));
            int s = model.ImageSize, p = priors.Count, n = indices.Length;
            var pixels = new float[n * 3 * s * s];
            var classes = new long[n * p];
            var regressions = new float[n * p * 4];
            for (int i = 0; i < n; i++)
            {
                samples[i].Chw.CopyTo(pixels, i * 3 * s * s);
                samples[i].Labels.CopyTo(classes, i * p);
                samples[i].Locations.CopyTo(regressions, i * p * 4);
            }
            PriorMatcher.FinishLocations(regressions, model.SizeVariance);
            Tensor images = tensor(pixels, [n, 3, s, s]), labels = tensor(classes, [n, p]), locations = tensor(regressions, [n, p, 4]);
            yield return new DetectionBatch(images, labels, locations, indices, b);
        }
    }

    private (float[], long[], float[]) Load(int index, int epoch)
    {
        DetectionImage image;
        using (var bitmap = dataset.LoadImage(index)) image = DetectionImage.FromBitmap(bitmap, dataset.GetObjects(index));
        // Seeded by SeedMixer, not HashCode.Combine, which is salted per process: a run resumed in a new process would draw other crops.
        if (Options.Augment) image = SsdAugmentation.Train(image, SeedMixer.CreateRandom(Options.Seed, epoch, index), Options.MaxZoomOut);
        var (chw, objects) = SsdAugmentation.ToInput(image, model.ImageSize);
        var kept = objects.Where(o => !o.Difficult).ToArray();
        var (labels, locations) = PriorMatcher.MatchBeforeLog(kept.SelectMany(o => new[] { o.X1, o.Y1, o.X2, o.Y2 }).ToArray(), kept.Select(o => (long)o.Label).ToArray(),
            priors, Options.IouThreshold, model.CenterVariance);
        return (chw, labels, locations);
    }
}
