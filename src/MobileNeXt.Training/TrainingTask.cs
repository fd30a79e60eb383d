using System.Globalization;
using MobileNeXt.Training.Distributed;
using MobileNeXt.Training.Recipes;
using MobileNeXt.Training.Reporting;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Training;

/// <summary>One batch a <see cref="TrainingTask"/> reads; the trainer disposes it after its step.</summary>
public interface ITrainingBatch : IDisposable
{
    /// <summary>Position of the batch in this rank's epoch, from 0 (a batch the loader dropped leaves a gap the trainer counts as a step).</summary>
    int BatchIndex { get; }

    /// <summary>Samples in the batch (for the images-per-second figure).</summary>
    int Count { get; }
}

/// <summary>What a task's evaluation found: named metrics and which one ranks checkpoints.</summary>
/// <param name="Metrics">Every metric, by name (e.g. <c>top-1</c>, <c>mAP@0.5</c>), in the units the task reports.</param>
/// <param name="Primary">The name in <paramref name="Metrics"/> that decides the best checkpoint (higher is better).</param>
public sealed record TaskEvaluation(IReadOnlyDictionary<string, double> Metrics, string Primary)
{
    /// <summary>The value of <see cref="Primary"/>.</summary>
    public double PrimaryValue => Metrics[Primary];
}

/// <summary>
/// What a checkpoint must share with a run to resume it: the task, the network (registry name, width, α) and the
/// classes. A resumed run refuses a checkpoint whose identity differs.
/// </summary>
public sealed record TaskIdentity(string Task, string Model, double Width, double IdentityMultiplier, IReadOnlyList<string> Classes)
{
    /// <summary>For messages: "mobilenext_035 (width 0.35, α 1, 4 classes)", with the task named when it is not classification.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{(Task == ClassificationTask.TaskName ? "" : Task + " with ")}{Model} (width {Width:0.###}, α {IdentityMultiplier:0.###}, {Classes.Count} classes)");
}

/// <summary>What the trainer hands a task before anything else: the run's options, process group and device.</summary>
public sealed record TrainingContext(TrainingOptions Options, ICommunicator Communicator, Device Device);

/// <summary>
/// What differs between the things <see cref="Trainer"/> can learn (classification, detection, …): the model, the data
/// of an epoch, the loss of a batch, the evaluation and what counts as the backbone. The loop, schedule, optimizer,
/// gradient all-reduce, EMA, checkpoints, resume, progress and plots are the trainer's and the same for every task.
/// </summary>
/// <remarks>
/// The trainer calls, in order: <see cref="Prepare"/> once; <see cref="CreateModel"/> under the run's seed (again for the
/// EMA copy); <see cref="BatchesPerEpoch"/>; then per epoch <see cref="ReadEpoch"/> (from a batch index, so a run resumed
/// mid-epoch skips what it already trained) with <see cref="Loss"/> per batch, and <see cref="Evaluate"/> at its end.
/// Everything random in a task must derive from (seed, epoch, batch or sample), never from thread timing, so that a
/// resumed run continues exactly.
/// </remarks>
public abstract class TrainingTask
{
    private TrainingContext? _context;

    /// <summary>The task's name as checkpoints record it (<c>classification</c>, <c>detection</c>).</summary>
    public abstract string Name { get; }

    /// <summary>Class names of the training data, in label order.</summary>
    public abstract IReadOnlyList<string> Classes { get; }

    /// <summary>What the data is, for messages.</summary>
    public abstract string DataDescription { get; }

    /// <summary>What opened the data (a built-in name, a folder, a prefixed source), so a checkpoint can reopen it on resume; null for data assembled in code.</summary>
    public virtual string? DataSource => null;

    /// <summary>The run's context, once <see cref="Prepare"/> has been called.</summary>
    protected TrainingContext Context => _context ?? throw new InvalidOperationException("The task has not been prepared by a Trainer yet.");

    /// <summary>Called once by the trainer: checks the data against the options (class counts, batch size) and keeps the context.</summary>
    /// <exception cref="ArgumentException">The data does not fit the options.</exception>
    public void Prepare(TrainingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        _context = context;
        OnPrepare(context);
    }

    /// <summary>The task's part of <see cref="Prepare"/>.</summary>
    protected abstract void OnPrepare(TrainingContext context);

    /// <summary>A freshly initialised model for the options (called after the trainer seeded libtorch's generator).</summary>
    public abstract nn.Module CreateModel();

    /// <summary>The network, width, α and classes a checkpoint of this run records and a resume must match.</summary>
    public abstract TaskIdentity Identity { get; }

    /// <summary>Batches per epoch on this process.</summary>
    public abstract int BatchesPerEpoch { get; }

    /// <summary>
    /// The batches of <paramref name="epoch"/> from batch <paramref name="firstBatch"/> on (the earlier ones are not
    /// read), deterministic in (seed, epoch, batch index) and this process's rank.
    /// </summary>
    public abstract IEnumerable<ITrainingBatch> ReadEpoch(int epoch, int firstBatch);

    /// <summary>Forward and loss of <paramref name="batch"/> on the trainer's device, in training mode; the trainer back-propagates it.</summary>
    public abstract Tensor Loss(nn.Module model, ITrainingBatch batch);

    /// <summary>Evaluates <paramref name="model"/> on the validation data (all processes together when several).</summary>
    public abstract TaskEvaluation Evaluate(nn.Module model);

    /// <summary>
    /// The parameters and BatchNorm layers a frozen backbone keeps as they are (<see cref="TrainingOptions.FreezeFeatures"/>):
    /// everything but the part the task learns anew (the classifier; the detector's extras and heads).
    /// </summary>
    public abstract (IReadOnlyList<Parameter> Parameters, IReadOnlyList<nn.Module> Norms) Backbone(nn.Module model);

    /// <summary>Loads <see cref="TrainingOptions.InitialWeights"/> into a fresh model; returns the line to show.</summary>
    public abstract string LoadInitialWeights(nn.Module model, string path);

    /// <summary>
    /// What the task needs, beyond the options and the data, to build the same model again (a searched cell and the
    /// network's size, say), as text the task reads back; stored in checkpoints (<c>task_settings</c>) so a resumed run
    /// rebuilds the network it continues. Null (the default) when the options say it all.
    /// </summary>
    public virtual string? Settings => null;

    /// <summary>
    /// Called by the trainer at the start of every epoch (a resumed one too), after the model is put in training mode:
    /// for what a recipe sets per epoch on the model (DARTS's drop-path probability). Must depend only on
    /// <paramref name="epoch"/> and <paramref name="epochs"/>, so a resumed run sets the same. Does nothing by default.
    /// </summary>
    public virtual void OnEpochStart(nn.Module model, int epoch, int epochs)
    {
    }

    /// <summary>Multiply-accumulates of one sample's forward pass, for the thread budget (<see cref="Trainer.DefaultThreads(double, TrainingOptions, int, int)"/>).</summary>
    public abstract double MacsPerSample(nn.Module model);

    /// <summary>
    /// The epoch's metrics with this task's evaluation (and the EMA weights', when on) filled in. By default the
    /// evaluation goes into <see cref="EpochMetrics.Metrics"/> under <see cref="EpochMetrics.MetricName"/>.
    /// </summary>
    public virtual EpochMetrics Record(EpochMetrics metrics, TaskEvaluation evaluation, TaskEvaluation? ema)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(evaluation);
        return metrics with
        {
            MetricName = evaluation.Primary,
            Metrics = evaluation.Metrics,
            EmaMetrics = ema?.Metrics,
        };
    }
}
