using MobileNeXt.Detection.Boxes;
using MobileNeXt.Models;
using MobileNeXt.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Detection.Training;

/// <summary>
/// SSDLite detection as a <see cref="TrainingTask"/>, so <see cref="Trainer"/> trains it with its one loop (schedule,
/// checkpoints, exact resume, EMA, MPI, progress, plots): <see cref="SsdLite"/> on the backbone
/// <see cref="MobileNeXt.Training.Recipes.TrainingOptions.Model"/> names (<c>mobilenext_*</c> or <c>mobilenetv2_*</c>, at
/// its width or <see cref="MobileNeXt.Training.Recipes.TrainingOptions.Width"/>) for
/// <see cref="MobileNeXt.Training.Recipes.TrainingOptions.InputSize"/>² inputs (<see cref="SsdLiteOptions.ForImageSize"/>);
/// batches from <see cref="DetectionLoader"/> (SSD augmentation, prior matching); <see cref="MultiBoxLoss"/>; evaluation
/// by <see cref="DetectionEvaluation"/> with VOC07 11-point mAP@0.5 as the primary metric and the all-point and COCO
/// mAPs logged beside it (all in %); the backbone network's <c>features</c> as what a frozen run keeps and what
/// <c>--init</c> fills (<see cref="SsdLite.LoadBackboneWeights"/>, the paper's ImageNet initialisation).
/// </summary>
public sealed class DetectionTask(DetectionData data) : TrainingTask
{
    /// <summary>The name checkpoints record.</summary>
    public const string TaskName = "detection";

    /// <summary>The primary metric: VOC07 11-point AP at IoU 0.5, averaged over classes, %.</summary>
    public const string MapVoc07 = "mAP@0.5";

    /// <summary>VOC2010+ all-point AP at IoU 0.5, %.</summary>
    public const string MapAllPoint = "mAP@0.5 all-point";

    /// <summary>COCO's mAP@[.5:.95], %.</summary>
    public const string MapCoco = "mAP@[.5:.95]";

    private readonly DetectionData _data = data ?? throw new ArgumentNullException(nameof(data));
    private SsdLiteOptions? _detector;
    private DetectionLoader? _loader;
    private Tensor? _priors;
    private BackboneChoice _backbone;

    /// <inheritdoc />
    public override string Name => TaskName;

    /// <summary>The data.</summary>
    public DetectionData Data => _data;

    /// <inheritdoc />
    public override IReadOnlyList<string> Classes => _data.Train.Classes;

    /// <inheritdoc />
    public override string DataDescription => _data.Description;

    /// <inheritdoc />
    public override string? DataSource => _data.Source;

    /// <summary>The detector's options (classes with background, input size, priors), once prepared.</summary>
    public SsdLiteOptions DetectorOptions => _detector ?? throw new InvalidOperationException("The task has not been prepared by a Trainer yet.");

    /// <summary>The backbone family and width <paramref name="model"/> (a registry name) stands for.</summary>
    /// <exception cref="ArgumentException">It is neither a plain MobileNeXt nor a MobileNetV2.</exception>
    public static (bool MobileNeXt, double Width) ParseBackbone(string model, double? width = null)
    {
        ModelCard card;
        try
        {
            card = ModelRegistry.GetCard(model);
        }
        catch (KeyNotFoundException e)
        {
            throw new ArgumentException($"{e.Message} Detection backbones are mobilenext_* and mobilenetv2_* (e.g. mobilenext_050).", nameof(model), e);
        }
        if (card.Family is not ("MobileNeXt" or "MobileNetV2"))
            throw new ArgumentException($"'{model}' ({card.Family}) cannot carry SSDLite; detection backbones are mobilenext_* and mobilenetv2_* (e.g. mobilenext_050, mobilenetv2_050).", nameof(model));
        return (card.Family == "MobileNeXt", width ?? card.Width);
    }

    /// <summary>A fresh SSDLite on the named backbone.</summary>
    public static SsdLite CreateDetector(string model, double? width, SsdLiteOptions options)
    {
        var (mobileNeXt, w) = ParseBackbone(model, width);
        return mobileNeXt ? SsdLite.CreateMobileNeXt(options, w) : SsdLite.CreateMobileNetV2(options, w);
    }

    private readonly record struct BackboneChoice(bool MobileNeXt, double Width);

    /// <inheritdoc />
    protected override void OnPrepare(TrainingContext context)
    {
        var options = context.Options;
        if (!_data.Train.Classes.SequenceEqual(_data.Validation.Classes, StringComparer.Ordinal))
            throw new ArgumentException($"The training data has {_data.Train.Classes.Count} classes but the validation data {_data.Validation.Classes.Count}, or their names differ; they must match.", "data");
        if (options.IdentityMultiplier != 1)
            throw new ArgumentException($"IdentityMultiplier must be 1 for detection (the SSDLite backbones have no α); got {options.IdentityMultiplier}.", nameof(options));
        var (mobileNeXt, width) = ParseBackbone(options.Model, options.Width);
        _backbone = new BackboneChoice(mobileNeXt, width);
        int ranks = context.Communicator.Size;
        int perProcess = _data.Train.Count / ranks;
        if (options.BatchSize > perProcess)
            throw new ArgumentException(
                $"Batch size {options.BatchSize} is larger than the {perProcess} training images{(ranks > 1 ? " per process" : "")} of {_data.Description}; use --batch-size {Math.Max(1, perProcess)} or less.",
                nameof(options));
        _detector = SsdLiteOptions.ForImageSize(options.InputSize, _data.Train.Classes.Count + 1);
        _priors?.Dispose();
        _priors = PriorBoxes.Create(_detector);
        _loader = new DetectionLoader(_data.Train, _priors, _detector, new DetectionLoaderOptions
        {
            BatchSize = options.BatchSize, Workers = options.Workers, Seed = options.Seed, MaxZoomOut = options.DetectionMaxZoomOut,
            IouThreshold = options.DetectionIouThreshold, Rank = context.Communicator.Rank, WorldSize = ranks,
        });
    }

    /// <inheritdoc />
    public override nn.Module CreateModel() => _backbone.MobileNeXt
        ? SsdLite.CreateMobileNeXt(DetectorOptions, _backbone.Width)
        : SsdLite.CreateMobileNetV2(DetectorOptions, _backbone.Width);

    /// <inheritdoc />
    public override TaskIdentity Identity => new(TaskName, Context.Options.Model, _backbone.Width, 1.0, Classes);

    private DetectionLoader Loader => _loader ?? throw new InvalidOperationException("The task has not been prepared by a Trainer yet.");

    /// <inheritdoc />
    public override int BatchesPerEpoch => Loader.BatchesPerEpoch;

    /// <inheritdoc />
    public override IEnumerable<ITrainingBatch> ReadEpoch(int epoch, int firstBatch) => Loader.ReadEpoch(epoch, firstBatch);

    /// <inheritdoc />
    public override Tensor Loss(nn.Module model, ITrainingBatch batch)
    {
        var b = (DetectionBatch)batch;
        var device = Context.Device;
        bool cpu = device.type == DeviceType.CPU; // copies to a GPU belong to the step's scope
        var (scores, boxes) = ((SsdLite)model).call(cpu ? b.Images : b.Images.to(device));
        var (regression, classification) = MultiBoxLoss.Compute(scores, boxes, cpu ? b.Labels : b.Labels.to(device), cpu ? b.Locations : b.Locations.to(device));
        return regression + classification;
    }

    /// <summary>Evaluates on the whole validation set on every process (detections are not split across ranks), so every rank reports the same numbers.</summary>
    public override TaskEvaluation Evaluate(nn.Module model) => ToTaskEvaluation(DetectionEvaluation.Evaluate((SsdLite)model, _data.Validation, Context.Options.BatchSize));

    /// <summary>The three mAPs of <paramref name="result"/> in %, mAP@0.5 (VOC07 11-point) first and primary.</summary>
    public static TaskEvaluation ToTaskEvaluation(DetectionEvaluationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return new TaskEvaluation(new Dictionary<string, double>
        {
            [MapVoc07] = 100 * result.Voc07.Mean,
            [MapAllPoint] = 100 * result.VocAllPoint.Mean,
            [MapCoco] = 100 * result.Coco.MeanAp,
        }, MapVoc07);
    }

    /// <inheritdoc />
    public override (IReadOnlyList<Parameter> Parameters, IReadOnlyList<nn.Module> Norms) Backbone(nn.Module model)
    {
        var features = ((SsdLite)model).Backbone.Network.Features;
        return ([.. features.parameters()], [.. features.modules().OfType<BatchNorm>()]);
    }

    /// <inheritdoc />
    public override string LoadInitialWeights(nn.Module model, string path)
    {
        var detector = (SsdLite)model;
        detector.LoadBackboneWeights(path);
        int tensors = detector.Backbone.Network.Features.state_dict().Count;
        return $"Initialised the backbone from '{path}': all {tensors} tensors of its features; the extras and heads keep their fresh initialisation.";
    }

    /// <inheritdoc />
    public override double MacsPerSample(nn.Module model) => ((SsdLite)model).Profile().TotalMacs;
}
