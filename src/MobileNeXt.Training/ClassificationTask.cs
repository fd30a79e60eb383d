using MobileNeXt.Inference;
using MobileNeXt.Models;
using MobileNeXt.Profiling;
using MobileNeXt.Training.Checkpoints;
using MobileNeXt.Training.Data;
using MobileNeXt.Training.Reporting;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Training;

/// <summary>
/// Image classification: a registry network (<see cref="Recipes.TrainingOptions.Model"/>), Inception crops read ahead by
/// <see cref="ReadAheadLoader"/>, cross-entropy (with label smoothing), top-1/top-5 on the validation split with the one
/// evaluation preprocessing, and everything but the classifier as the backbone. The task <see cref="Trainer"/> runs
/// when given a <see cref="TrainingData"/>.
/// </summary>
public sealed class ClassificationTask(TrainingData data) : TrainingTask
{
    /// <summary>The name checkpoints record (and assume when they record none).</summary>
    public const string TaskName = "classification";

    /// <summary>The primary metric's name.</summary>
    public const string Top1 = "top-1";

    /// <summary>The second metric's name.</summary>
    public const string Top5 = "top-5";

    private readonly TrainingData _data = data ?? throw new ArgumentNullException(nameof(data));
    private ReadAheadLoader? _loader;
    private EvalPreprocessing? _evalPreprocessing;
    private double _width;

    /// <inheritdoc />
    public override string Name => TaskName;

    /// <summary>The data.</summary>
    public TrainingData Data => _data;

    /// <inheritdoc />
    public override IReadOnlyList<string> Classes => _data.Train.Classes;

    /// <inheritdoc />
    public override string DataDescription => _data.Description;

    /// <inheritdoc />
    public override string? DataSource => _data.Source;

    /// <summary>What loading the initial weights did, once <see cref="LoadInitialWeights"/> ran; else null.</summary>
    public InitialWeightsReport? Initialisation { get; private set; }

    /// <inheritdoc />
    protected override void OnPrepare(TrainingContext context)
    {
        var options = context.Options;
        int classes = _data.Train.Classes.Count;
        if (_data.Validation.Classes.Count != classes)
            throw new ArgumentException($"The training data has {classes} classes but the validation data {_data.Validation.Classes.Count}; they must match.", "data");
        int ranks = context.Communicator.Size;
        int perProcess = _data.Train.Count / ranks;
        if (options.BatchSize > perProcess)
            throw new ArgumentException(
                $"Batch size {options.BatchSize} is larger than the {perProcess} training samples{(ranks > 1 ? " per process" : "")} of {_data.Description}; use --batch-size {Math.Max(1, perProcess)} or less.",
                nameof(options));
        _width = options.Width ?? ModelRegistry.GetCard(options.Model).Width;
        var sampler = new EpochSampler(_data.Train.Count, new EpochSamplerOptions { Seed = options.Seed, Rank = context.Communicator.Rank, WorldSize = ranks });
        var augmentation = new TrainAugmentationOptions
        {
            Size = options.InputSize,
            MinScale = options.MinCropScale,
            Brightness = options.ColorJitter,
            Contrast = options.ColorJitter,
            Saturation = options.ColorJitter,
        };
        _loader = new ReadAheadLoader(_data.Train, new InceptionTrainTransform(augmentation), sampler,
            new ReadAheadLoaderOptions { BatchSize = options.BatchSize, Workers = options.Workers, DropLast = true, Seed = options.Seed });
        _evalPreprocessing = new EvalPreprocessing(options.EffectiveEvalResizeSize, options.InputSize);
    }

    /// <inheritdoc />
    public override nn.Module CreateModel() => ModelRegistry.Create(Context.Options.Model, Context.Options.ModelCreateOptions(Classes.Count));

    /// <inheritdoc />
    public override TaskIdentity Identity => new(TaskName, Context.Options.Model, _width, Context.Options.IdentityMultiplier, Classes);

    /// <inheritdoc />
    public override int BatchesPerEpoch => Loader.BatchesPerEpoch;

    private ReadAheadLoader Loader => _loader ?? throw new InvalidOperationException("The task has not been prepared by a Trainer yet.");

    /// <inheritdoc />
    public override IEnumerable<ITrainingBatch> ReadEpoch(int epoch, int firstBatch) => Loader.ReadEpoch(epoch, firstBatch);

    /// <inheritdoc />
    public override Tensor Loss(nn.Module model, ITrainingBatch batch)
    {
        var (images, labels) = ((ImageBatch)batch).On(Context.Device); // copies to a GPU belong to the step's scope
        if (Context.Options.ChannelsLast) images = MemoryLayout.ToChannelsLast(images);
        var logits = ((nn.Module<Tensor, Tensor>)model).call(images);
        return nn.functional.cross_entropy(logits, labels, label_smoothing: Context.Options.LabelSmoothing);
    }

    /// <inheritdoc />
    public override TaskEvaluation Evaluate(nn.Module model)
    {
        var options = Context.Options;
        var result = Evaluation.Evaluate((nn.Module<Tensor, Tensor>)model, _data.Validation, _evalPreprocessing!, options.BatchSize, options.Workers,
            Context.Communicator, channelsLast: options.ChannelsLast);
        return new TaskEvaluation(new Dictionary<string, double> { [Top1] = result.Top1, [Top5] = result.Top5 }, Top1);
    }

    /// <summary>Top-1 and top-5 go into the log's own fields, as before tasks existed; nothing else is added.</summary>
    public override EpochMetrics Record(EpochMetrics metrics, TaskEvaluation evaluation, TaskEvaluation? ema) => RecordTopK(metrics, evaluation, ema);

    /// <summary>
    /// <see cref="Top1"/> and <see cref="Top5"/> of <paramref name="evaluation"/> (and of <paramref name="ema"/>) into the
    /// log's own fields, for any task whose metric is a classifier's (a searched cell's network, too).
    /// </summary>
    public static EpochMetrics RecordTopK(EpochMetrics metrics, TaskEvaluation evaluation, TaskEvaluation? ema)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(evaluation);
        return metrics with
        {
            Top1 = evaluation.Metrics[Top1],
            Top5 = evaluation.Metrics[Top5],
            EmaTop1 = ema?.Metrics[Top1],
            EmaTop5 = ema?.Metrics[Top5],
        };
    }

    /// <inheritdoc />
    public override (IReadOnlyList<Parameter> Parameters, IReadOnlyList<nn.Module> Norms) Backbone(nn.Module model)
    {
        var classifier = (ImageClassifier)model;
        return (InitialWeights.BackboneParameters(classifier), [.. classifier.Features.modules().OfType<BatchNorm>()]);
    }

    /// <inheritdoc />
    public override string LoadInitialWeights(nn.Module model, string path)
    {
        Initialisation = InitialWeights.Load((ImageClassifier)model, path, Classes);
        return Initialisation.ToString();
    }

    /// <inheritdoc />
    public override double MacsPerSample(nn.Module model) => ModelProfiler.Profile((ImageClassifier)model, Context.Options.InputSize).TotalMacs;
}
