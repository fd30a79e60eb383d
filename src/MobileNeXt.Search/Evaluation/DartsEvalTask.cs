using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using MobileNeXt.Inference;
using MobileNeXt.Interop;
using MobileNeXt.Search.Data;
using MobileNeXt.Search.Network;
using MobileNeXt.Training;
using MobileNeXt.Training.Data;
using MobileNeXt.Training.Distributed;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Search.Evaluation;

/// <summary>
/// What a <see cref="DartsEvalTask"/> needs beyond the trainer's options to build its network and augmentation: the
/// searched cell, the network's size and DARTS's regularisers. Stored in checkpoints (<see cref="TrainingTask.Settings"/>)
/// so a resumed run rebuilds the same network.
/// </summary>
/// <param name="Genotype">The cell.</param>
/// <param name="Channels">Initial channels (DARTS: 36).</param>
/// <param name="Layers">Cells (DARTS: 20).</param>
/// <param name="AuxiliaryWeight">Weight of the auxiliary head's loss (DARTS: 0.4).</param>
/// <param name="DropPath">Final drop-path probability, reached linearly (DARTS: 0.2).</param>
/// <param name="CutoutLength">Cutout side (DARTS: 16).</param>
/// <param name="CropPadding">Random-crop padding (DARTS: 4).</param>
public sealed record DartsEvalSettings(Genotype Genotype, int Channels, int Layers, double AuxiliaryWeight, double DropPath, int CutoutLength, int CropPadding)
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>The settings of <paramref name="recipe"/> (its network and regularisers) for <paramref name="genotype"/>.</summary>
    public static DartsEvalSettings From(Genotype genotype, DartsEvalOptions recipe)
    {
        ArgumentNullException.ThrowIfNull(genotype);
        ArgumentNullException.ThrowIfNull(recipe);
        recipe.Validate();
        return new(genotype, recipe.Channels, recipe.Layers, recipe.AuxiliaryWeight, recipe.DropPath, recipe.CutoutLength, recipe.CropPadding);
    }

    /// <summary>As JSON (the genotype in <see cref="Network.Genotype.ToJson"/>'s form).</summary>
    public string ToJson() => JsonSerializer.Serialize(new Stored(JsonDocument.Parse(Genotype.ToJson()).RootElement, Channels, Layers, AuxiliaryWeight, DropPath, CutoutLength, CropPadding), Json);

    /// <summary>Reads <see cref="ToJson"/>'s text.</summary>
    /// <exception cref="InvalidDataException">Not such settings.</exception>
    public static DartsEvalSettings FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        Stored? stored;
        try
        {
            stored = JsonSerializer.Deserialize<Stored>(json, Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Not the settings of a searched cell's training ({e.Message}).", e);
        }
        if (stored is null || stored.Genotype.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException("Not the settings of a searched cell's training (no genotype).");
        return new(Genotype.FromJson(stored.Genotype.GetRawText()), stored.Channels, stored.Layers, stored.AuxiliaryWeight, stored.DropPath, stored.CutoutLength, stored.CropPadding);
    }

    /// <summary>
    /// The name checkpoints record as the model: <c>darts_c{channels}_l{layers}_{hash}</c>, the hash the first 8 hex
    /// digits of the SHA-256 of the genotype's JSON, so a resume with another cell or size is refused.
    /// </summary>
    public string ModelName
    {
        get
        {
            var hash = SHA256.HashData(Encoding.UTF8.GetBytes(Genotype.ToJson()));
            return string.Create(CultureInfo.InvariantCulture, $"darts_c{Channels}_l{Layers}_{Convert.ToHexStringLower(hash)[..8]}");
        }
    }

    private sealed record Stored(
        [property: JsonPropertyName("genotype")] JsonElement Genotype,
        int Channels, int Layers, double AuxiliaryWeight, double DropPath, int CutoutLength, int CropPadding);
}

/// <summary>
/// DARTS's evaluation training of a searched cell (quark0/darts <c>cnn/train.py</c>) as a <see cref="TrainingTask"/>, so
/// <see cref="Trainer"/> runs it with its one loop (schedule, checkpoints, exact resume, MPI, progress, plots): the
/// <see cref="EvalNetwork"/> of <see cref="DartsEvalSettings.Genotype"/>; DARTS's augmentation (crop with padding, flip,
/// cutout; <see cref="DartsAugmentation"/>); the loss <c>CE(logits) + auxiliary_weight · CE(auxiliary logits)</c>; the
/// drop-path probability <c>drop_path · epoch / epochs</c> set at every epoch start; top-1 and top-5 on the test set
/// as the metric. The optimizer, schedule, gradient clipping and batch come from the trainer's options
/// (<see cref="DartsEvalOptions.TrainingOptions"/> gives DARTS's). Unlike <c>train.py</c>, an epoch's last partial
/// batch is dropped, as every task of the trainer does, so that several processes stay in lock-step.
/// </summary>
public sealed class DartsEvalTask : TrainingTask
{
    /// <summary>The name checkpoints record.</summary>
    public const string TaskName = "darts";

    private readonly IImageDataset _train;
    private readonly IImageDataset _test;
    private readonly NormalizationStatistics _normalization;
    private ReadAheadLoader? _loader;
    private ReadAheadLoader? _testLoader;

    /// <summary>A task training <paramref name="settings"/>' network on <paramref name="train"/>, tested on <paramref name="test"/>.</summary>
    /// <param name="settings">The cell, the network's size and the regularisers.</param>
    /// <param name="train">Training images (32², or centred on 32²).</param>
    /// <param name="test">Test images with the same classes.</param>
    /// <param name="normalization">Channel statistics both are normalised with (CIFAR-10's, Fashion-MNIST's).</param>
    /// <param name="dataSource">What opened the data, for resuming (<see cref="TrainingTask.DataSource"/>); null for data assembled in code.</param>
    /// <param name="description">The data, for messages; default the source.</param>
    public DartsEvalTask(DartsEvalSettings settings, IImageDataset train, IImageDataset test, NormalizationStatistics normalization,
        string? dataSource = null, string? description = null)
    {
        Cell = settings ?? throw new ArgumentNullException(nameof(settings));
        _train = train ?? throw new ArgumentNullException(nameof(train));
        _test = test ?? throw new ArgumentNullException(nameof(test));
        _normalization = normalization ?? throw new ArgumentNullException(nameof(normalization));
        DataSource = dataSource;
        DataDescription = description ?? dataSource ?? $"{train.Count} training images";
        // checked here, before any data is read: the message names what to change
        NetworkOptions.Validate();
        new DartsEvalOptions { Channels = settings.Channels, Layers = settings.Layers, AuxiliaryWeight = settings.AuxiliaryWeight, DropPath = settings.DropPath, CutoutLength = settings.CutoutLength, CropPadding = settings.CropPadding }.Validate();
    }

    /// <summary>The cell, the network's size and the regularisers.</summary>
    public DartsEvalSettings Cell { get; }

    /// <summary>The network's shape.</summary>
    public EvalNetworkOptions NetworkOptions => new() { Genotype = Cell.Genotype, Channels = Cell.Channels, Layers = Cell.Layers, Classes = _train.Classes.Count };

    /// <inheritdoc />
    public override string Name => TaskName;

    /// <inheritdoc />
    public override IReadOnlyList<string> Classes => _train.Classes;

    /// <inheritdoc />
    public override string DataDescription { get; }

    /// <inheritdoc />
    public override string? DataSource { get; }

    /// <inheritdoc />
    public override string? Settings => Cell.ToJson();

    /// <inheritdoc />
    public override TaskIdentity Identity => new(TaskName, Cell.ModelName, 1, 1, Classes);

    /// <inheritdoc />
    protected override void OnPrepare(TrainingContext context)
    {
        var options = context.Options;
        if (_test.Classes.Count != _train.Classes.Count)
            throw new ArgumentException($"The training data has {_train.Classes.Count} classes but the test data {_test.Classes.Count}; they must match.", "test");
        int ranks = context.Communicator.Size, perProcess = _train.Count / ranks;
        if (options.BatchSize > perProcess)
            throw new ArgumentException(
                $"Batch size {options.BatchSize} is larger than the {perProcess} training samples{(ranks > 1 ? " per process" : "")} of {DataDescription}; use --batch-size {Math.Max(1, perProcess)} or less.",
                nameof(context));
        // train.py's transforms: crop with padding, flip, cutout, normalise; the test set is only normalised
        var trainTransform = new DartsAugmentation(new DartsAugmentationOptions { Normalization = _normalization, Padding = Cell.CropPadding, CutoutLength = Cell.CutoutLength });
        int rank = context.Communicator.Rank;
        _loader = new ReadAheadLoader(_train, trainTransform,
            new EpochSampler(_train.Count, new EpochSamplerOptions { Seed = options.Seed, Rank = rank, WorldSize = ranks }),
            new ReadAheadLoaderOptions { BatchSize = options.BatchSize, Workers = options.Workers, DropLast = true, Seed = options.Seed });
        _testLoader = TestLoader(_test, _normalization, options.BatchSize, options.Workers, rank, ranks, options.Seed);
    }

    /// <inheritdoc />
    public override nn.Module CreateModel() => new EvalNetwork(NetworkOptions);

    /// <inheritdoc />
    public override int BatchesPerEpoch => Loader.BatchesPerEpoch;

    private ReadAheadLoader Loader => _loader ?? throw new InvalidOperationException("The task has not been prepared by a Trainer yet.");

    /// <inheritdoc />
    public override IEnumerable<ITrainingBatch> ReadEpoch(int epoch, int firstBatch) => Loader.ReadEpoch(epoch, firstBatch);

    /// <summary>Sets <c>drop_path · epoch / epochs</c> (<c>train.py</c>: <c>model.drop_path_prob = args.drop_path_prob * epoch / args.epochs</c>).</summary>
    public override void OnEpochStart(nn.Module model, int epoch, int epochs)
    {
        ArgumentNullException.ThrowIfNull(model);
        ((EvalNetwork)model).DropPathProbability = DropPathAt(epoch, epochs);
    }

    /// <summary>The drop-path probability of 0-based <paramref name="epoch"/> of <paramref name="epochs"/>.</summary>
    public double DropPathAt(int epoch, int epochs) => Cell.DropPath * epoch / epochs;

    /// <inheritdoc />
    public override Tensor Loss(nn.Module model, ITrainingBatch batch)
    {
        var (images, labels) = ((ImageBatch)batch).On(Context.Device);
        if (Context.Options.ChannelsLast) images = MemoryLayout.ToChannelsLast(images);
        var (logits, auxiliary) = ((EvalNetwork)model).ForwardWithAuxiliary(images);
        var loss = nn.functional.cross_entropy(logits, labels, label_smoothing: Context.Options.LabelSmoothing);
        return auxiliary is null ? loss
            : loss + Cell.AuxiliaryWeight * nn.functional.cross_entropy(auxiliary, labels, label_smoothing: Context.Options.LabelSmoothing);
    }

    /// <summary>Top-1 (primary) and top-5 on the test set in %, each process its shard, the counts summed over processes.</summary>
    public override TaskEvaluation Evaluate(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var (top1, top5, _) = Test((nn.Module<Tensor, Tensor>)model, _testLoader!, Context.Device, Context.Options.ChannelsLast, Context.Communicator);
        return new TaskEvaluation(new Dictionary<string, double> { [ClassificationTask.Top1] = top1, [ClassificationTask.Top5] = top5 }, ClassificationTask.Top1);
    }

    /// <summary>
    /// Top-1 and top-5 (in %) and the number of images of <paramref name="network"/> (evaluation mode; its mode is
    /// restored) on <paramref name="test"/>, normalised with <paramref name="normalization"/> and nothing else, as
    /// <c>train.py</c>'s <c>infer()</c> reads the test set.
    /// </summary>
    public static (double Top1, double Top5, long Images) Test(nn.Module<Tensor, Tensor> network, IImageDataset test, NormalizationStatistics normalization,
        int batchSize = 96, int workers = 2, bool channelsLast = true)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(test);
        ArgumentNullException.ThrowIfNull(normalization);
        var device = network.parameters().First().device;
        return Test(network, TestLoader(test, normalization, batchSize, workers, 0, 1, 0), device, channelsLast, new SingleProcessCommunicator());
    }

    private static ReadAheadLoader TestLoader(IImageDataset test, NormalizationStatistics normalization, int batchSize, int workers, int rank, int ranks, int seed) =>
        new(test, new DartsAugmentation(new DartsAugmentationOptions { Normalization = normalization, Train = false }),
            new EpochSampler(test.Count, new EpochSamplerOptions { Shuffle = false, Rank = rank, WorldSize = ranks }),
            new ReadAheadLoaderOptions { BatchSize = batchSize, Workers = workers, DropLast = false, Seed = seed });

    private static (double Top1, double Top5, long Images) Test(nn.Module<Tensor, Tensor> network, ReadAheadLoader loader, Device device, bool channelsLast,
        ICommunicator communicator)
    {
        bool wasTraining = network.training;
        network.eval();
        double top1 = 0, top5 = 0, count = 0;
        try
        {
            using (no_grad())
                foreach (var batch in loader.ReadEpoch(0))
                {
                    using var b = batch;
                    using var scope = NewDisposeScope();
                    var (images, labels) = b.On(device);
                    if (channelsLast) images = MemoryLayout.ToChannelsLast(images);
                    var logits = network.call(images);
                    var hits = logits.topk(Math.Min(5, (int)logits.shape[1]), dim: 1).indexes.eq(labels.unsqueeze(1));
                    top1 += hits[.., 0].sum().item<long>();
                    top5 += hits.any(1).sum().item<long>();
                    count += labels.shape[0];
                }
        }
        finally
        {
            if (wasTraining) network.train();
        }
        using var totals = tensor(new[] { top1, top5, count });
        communicator.AllReduceSum(totals);
        var t = totals.data<double>().ToArray();
        if (t[2] == 0) throw new InvalidOperationException("The test set gave no batch.");
        return (100 * t[0] / t[2], 100 * t[1] / t[2], (long)t[2]);
    }

    /// <summary>Top-1 and top-5 go into the log's own fields, as a classifier's do, so the plots and summaries read them.</summary>
    public override Training.Reporting.EpochMetrics Record(Training.Reporting.EpochMetrics metrics, TaskEvaluation evaluation, TaskEvaluation? ema) =>
        ClassificationTask.RecordTopK(metrics, evaluation, ema);

    /// <summary>Everything but the classifier and the auxiliary head, and every BatchNorm.</summary>
    public override (IReadOnlyList<Parameter> Parameters, IReadOnlyList<nn.Module> Norms) Backbone(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var parameters = model.named_parameters()
            .Where(p => !p.name.StartsWith("classifier.", StringComparison.Ordinal) && !p.name.StartsWith("auxiliary_head.", StringComparison.Ordinal))
            .Select(p => p.parameter).ToList();
        return (parameters, [.. model.modules().OfType<BatchNorm2d>()]);
    }

    /// <summary>
    /// Loads the weights of the same network (a checkpoint of another run of this cell, or a state_dict) from
    /// <paramref name="path"/>; every tensor must match by name and shape.
    /// </summary>
    public override string LoadInitialWeights(nn.Module model, string path)
    {
        ModelWeights.Load(model, path);
        return $"Initial weights: every tensor of '{path}' loaded.";
    }

    /// <summary>The network's multiply-accumulates on one 32² image (<see cref="EvalNetwork.Profile"/>).</summary>
    public override double MacsPerSample(nn.Module model) => ((EvalNetwork)model).Profile().TotalMacs;
}
