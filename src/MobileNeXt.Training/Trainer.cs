using System.Diagnostics;
using System.Globalization;
using MobileNeXt.Inference;
using MobileNeXt.Interop;
using MobileNeXt.Models;
using MobileNeXt.Profiling;
using MobileNeXt.Training.Checkpoints;
using MobileNeXt.Training.Data;
using MobileNeXt.Training.Distributed;
using MobileNeXt.Training.Optimization;
using MobileNeXt.Training.Recipes;
using MobileNeXt.Training.Reporting;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Training;

/// <summary>
/// The training loop: data → model → loss → backward → (gradient average over processes) → SGD step → EMA, with the
/// learning rate set from the global step every iteration, one dispose scope per step, evaluation (top-1/top-5, and
/// of the EMA weights when on) after every epoch, checkpoints after every epoch and on cancellation, a metrics log and
/// plots. Everything a run draws at random is derived from (seed, epoch, step, sample), so a resumed run continues
/// exactly as an uninterrupted one would (on CPU, with the same seed and thread count).
/// </summary>
/// <remarks>
/// Cross-process work goes only through the <see cref="ICommunicator"/>: each process reads its shard
/// (<see cref="EpochSampler"/> with its rank; every rank takes ⌊N / ranks⌋ / batch steps per epoch, so all stay in
/// lock-step), gradients live in one <see cref="FlatGradientBuffer"/> averaged by a single all-reduce before every
/// step, a one-element-per-rank all-reduce of the losses (and of Ctrl+C) makes divergence and interruption collective
/// decisions, BatchNorm running statistics are averaged before every evaluation and checkpoint, and only the root
/// process writes checkpoints, the log and plots. With one process none of this runs: no buffer, no collective.
/// </remarks>
public sealed class Trainer : IDisposable
{
    private readonly ICommunicator _communicator;
    private readonly ITrainingProgress _progress;
    private readonly TrainingTask _task;
    private readonly ParameterGroups _groups;
    private readonly Parameter[] _parameters;
    private readonly HandWrittenOptimizer _optimizer;
    private readonly FlatGradientBuffer? _flatGradients;
    private bool _stopAgreed;
    private readonly CheckpointStore? _store;
    private readonly MetricsLog? _log;
    private readonly IReadOnlyList<Parameter> _backbone;
    private readonly IReadOnlyList<nn.Module> _backboneNorms;
    private bool _backboneFrozen;

    /// <summary>Builds the classification run's model, optimizer and data pipeline (a <see cref="ClassificationTask"/>); nothing is trained until <see cref="Run"/>.</summary>
    /// <param name="options">The run's settings (validated here).</param>
    /// <param name="data">Training and validation data with the same classes.</param>
    /// <param name="communicator">The process group; default a single process.</param>
    /// <param name="progress">Where progress goes; default nowhere.</param>
    /// <exception cref="ArgumentException">An option is invalid, or the batch is larger than the training data.</exception>
    /// <exception cref="UnauthorizedAccessException">The output folder is not writable.</exception>
    /// <exception cref="NotSupportedException"><see cref="TrainingOptions.Device"/> asks for a GPU the loaded libtorch cannot use.</exception>
    public Trainer(TrainingOptions options, TrainingData data, ICommunicator? communicator = null, ITrainingProgress? progress = null)
        : this(options, new ClassificationTask(data ?? throw new ArgumentNullException(nameof(data))), communicator, progress)
    {
    }

    /// <summary>Builds a run of <paramref name="task"/> (its model, data, loss and metric) with the one loop; nothing is trained until <see cref="Run"/>.</summary>
    /// <param name="options">The run's settings (validated here).</param>
    /// <param name="task">What is learnt: <see cref="ClassificationTask"/>, or another package's task (detection).</param>
    /// <param name="communicator">The process group; default a single process.</param>
    /// <param name="progress">Where progress goes; default nowhere.</param>
    /// <exception cref="ArgumentException">An option is invalid, or the data does not fit them (the task says why).</exception>
    /// <exception cref="UnauthorizedAccessException">The output folder is not writable.</exception>
    /// <exception cref="NotSupportedException"><see cref="TrainingOptions.Device"/> asks for a GPU the loaded libtorch cannot use.</exception>
    public Trainer(TrainingOptions options, TrainingTask task, ICommunicator? communicator = null, ITrainingProgress? progress = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(task);
        options.Validate();
        if (options.RetainFreedMemory) TorchRuntime.RetainFreedMemory();
        TorchRuntime.EnsureAvailable();
        // The path a resumed run took comes from its checkpoint's options; a new run's Auto is settled here, once, and
        // stored, so that resuming under another allocator or a later rule for Auto does not change the arithmetic
        // (checkpoints written before BatchNorm's Auto was settled here store Auto, and resume with today's rule).
        options = options with
        {
            PointwiseConvolutions = MemoryLayout.Resolve(options.PointwiseConvolutions),
            BatchNorm = MemoryLayout.Resolve(options.BatchNorm),
        };
        MemoryLayout.PointwiseConvolutions = options.PointwiseConvolutions;
        MemoryLayout.BatchNorm = options.BatchNorm;
        Options = options;
        _task = task;
        _communicator = communicator ?? new SingleProcessCommunicator();
        _progress = progress ?? SilentProgress.Instance;
        Device = TrainingDevice.Resolve(options.Device, _communicator); // a GPU asked for but missing is reported at once
        task.Prepare(new TrainingContext(options, _communicator, Device));

        // Root only, and before anything expensive: an unwritable folder is reported at once.
        if (_communicator.IsRoot)
        {
            _store = new CheckpointStore(options.OutputDirectory);
            _log = new MetricsLog(_store.Directory);
        }

        manual_seed(options.Seed);
        Network = task.CreateModel();
        Network.train();
        Threads = options.Threads ?? DefaultThreads(task.MacsPerSample(Network), options, Environment.ProcessorCount, _communicator.Size);
        set_num_threads(Threads);
        if (_communicator.Size > 1) ParameterSync.BroadcastFrom(Network, _communicator);
        bool onGpu = Device.type != DeviceType.CPU;
        if (onGpu) Network.to(Device);
        // After the move, which replaces parameters (torchsharp-notes §3).
        (_backbone, _backboneNorms) = task.Backbone(Network);
        if (options.EmaDecay is { } decay)
        {
            var shadow = task.CreateModel();
            if (onGpu) shadow.to(Device);
            Ema = new ModelEma(Network, shadow, decay);
        }

        // Built after the model is final: moving a model replaces its parameters (torchsharp-notes §3).
        _groups = ParameterGroups.Split(Network, options.DecayNormAndBias);
        _parameters = [.. _groups.All.Select(x => x.Parameter)];
        // Several processes: every grad a view into one buffer (before the optimizer), averaged by one all-reduce.
        if (_communicator.Size > 1) _flatGradients = new FlatGradientBuffer(_parameters);
        _optimizer = options.Optimizer == OptimizerNames.RmsPropTf
            ? _groups.CreateRmsPropTf(options.LearningRate, options.RmsPropAlpha, options.Momentum, options.RmsPropEpsilon, options.WeightDecay)
            : _groups.CreateSgd(options.LearningRate, options.Momentum, options.Nesterov, options.WeightDecay);

        StepsPerEpoch = options.MaxStepsPerEpoch > 0 ? Math.Min(options.MaxStepsPerEpoch, task.BatchesPerEpoch) : task.BatchesPerEpoch;
        Epochs = options.EpochsFor(StepsPerEpoch);
        Schedule = LearningRateSchedule.From(options, StepsPerEpoch, options.BatchSize * _communicator.Size);
    }

    /// <summary>The run's settings.</summary>
    public TrainingOptions Options { get; }

    /// <summary>The device this process trains on (<see cref="TrainingOptions.Device"/> resolved for its rank).</summary>
    public Device Device { get; }

    /// <summary>libtorch intra-op threads this process trains with: <see cref="TrainingOptions.Threads"/>, or <see cref="DefaultThreads(double, TrainingOptions, int, int)"/>'s choice.</summary>
    public int Threads { get; }

    /// <summary>
    /// Below this many multiply-accumulates per step (batch × the network's MACs at the input size) a network is "small":
    /// its data workers, not its convolutions, set the pace, and libtorch's threads get the cores the workers leave.
    /// Measured on 2 cores (bench <c>train-steady</c>, <c>train-fed</c>): mobilenext_035 at 32², batch 64 (0.1 G MACs per
    /// step) trained at 749–779 img/s with 1 libtorch thread beside 2 workers and at 370–432 img/s (swinging to 973 in
    /// another run) with 2; mobilenext_100 at 224², batch 32 (10 G) is compute-bound and needs both cores for the step.
    /// </summary>
    public const double SmallStepMacs = 1e9;

    /// <summary>
    /// The libtorch thread count when <see cref="TrainingOptions.Threads"/> is not set: the process's share of the cores
    /// (<paramref name="cores"/> / <paramref name="ranks"/>), less one per data worker when the network is small
    /// (<see cref="SmallStepMacs"/>), at least 1. Every parallel libtorch op waits for all of its threads, so a thread
    /// that shares a core with a busy data worker stalls every op; that was the cause of the 32² run's swings from one
    /// epoch to the next.
    /// </summary>
    public static int DefaultThreads(ImageClassifier model, TrainingOptions options, int cores, int ranks)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        return DefaultThreads(ModelProfiler.Profile(model, options.InputSize).TotalMacs, options, cores, ranks);
    }

    /// <summary>The same rule for a network of <paramref name="macsPerSample"/> multiply-accumulates per sample (any task).</summary>
    public static int DefaultThreads(double macsPerSample, TrainingOptions options, int cores, int ranks)
    {
        ArgumentNullException.ThrowIfNull(options);
        int share = Math.Max(1, cores / Math.Max(1, ranks));
        double macsPerStep = macsPerSample * options.BatchSize;
        return macsPerStep < SmallStepMacs ? Math.Max(1, share - options.Workers) : share;
    }

    /// <summary>What is being learnt: the model, data, loss and metric of the run.</summary>
    public TrainingTask Task => _task;

    /// <summary>The network being trained, of whatever task.</summary>
    public nn.Module Network { get; }

    /// <summary>The classifier being trained (a classification run's <see cref="Network"/>).</summary>
    /// <exception cref="InvalidOperationException">The run is of another task; use <see cref="Network"/>.</exception>
    public ImageClassifier Model => Network as ImageClassifier
        ?? throw new InvalidOperationException($"This run trains a {_task.Name} model ({Network.GetType().Name}), not an image classifier; use Trainer.Network.");

    /// <summary>Epochs of the run: <see cref="TrainingOptions.Epochs"/>, or those <see cref="TrainingOptions.Iterations"/> takes.</summary>
    public int Epochs { get; }

    /// <summary>The moving average of the weights, when <see cref="TrainingOptions.EmaDecay"/> is set.</summary>
    public ModelEma? Ema { get; }

    /// <summary>The learning-rate schedule.</summary>
    public LearningRateSchedule Schedule { get; }

    /// <summary>Optimizer steps per epoch.</summary>
    public int StepsPerEpoch { get; }

    /// <summary>The weight-decay groups.</summary>
    public ParameterGroups ParameterGroups => _groups;

    /// <summary>What loading <see cref="TrainingOptions.InitialWeights"/> into a classifier did, once <see cref="Run"/> has started a fresh run from them; else null.</summary>
    public InitialWeightsReport? Initialisation => (_task as ClassificationTask)?.Initialisation;

    /// <summary>
    /// Trains until <see cref="TrainingOptions.Epochs"/> are done or <paramref name="cancellationToken"/> fires (then the
    /// step reached is checkpointed and the run returns with <see cref="TrainingResult.Interrupted"/>).
    /// </summary>
    /// <param name="resumeFrom">A checkpoint to continue from, or null to start fresh.</param>
    /// <param name="cancellationToken">Stops the run after the current step (Ctrl+C).</param>
    /// <exception cref="TrainingDivergedException">The loss became NaN or infinite; no checkpoint was written for the failed epoch.</exception>
    /// <exception cref="IOException">Starting fresh into a folder that already holds a checkpoint.</exception>
    /// <exception cref="InvalidDataException">The resume checkpoint is of another model or run shape.</exception>
    public TrainingResult Run(string? resumeFrom = null, CancellationToken cancellationToken = default)
    {
        long step = 0;
        double best = -1;
        var history = new List<EpochMetrics>();
        if (resumeFrom is not null)
        {
            (step, best) = Resume(resumeFrom);
            if (_log is not null)
            {
                _log.TruncateTo((int)(step / StepsPerEpoch));
                history.AddRange(_log.ReadAll());
            }
            _progress.OnMessage($"Resumed from '{resumeFrom}' at epoch {step / StepsPerEpoch + 1}, step {step}.");
        }
        else if (_store is not null && File.Exists(_store.LastPath))
        {
            throw new IOException(
                $"'{_store.Directory}' already holds a checkpoint ({CheckpointStore.LastFileName}); continue it with --resume {_store.LastPath}, or choose another --output folder.");
        }
        else if (_log is not null && File.Exists(_log.Path))
        {
            File.Delete(_log.Path); // a log without a checkpoint belongs to a run that never finished an epoch
        }
        if (resumeFrom is null && Options.InitialWeights is { } init)
        {
            // Every rank reads the same file, so the ranks stay identical without a broadcast.
            string loaded = _task.LoadInitialWeights(Network, init);
            Ema?.CopyFromModel();
            _progress.OnMessage(loaded);
        }

        if (Options.Threads is null)
            _progress.OnMessage($"libtorch threads: {Threads} (set --threads to choose; a small network leaves a core to each data worker).");
        var runClock = Stopwatch.StartNew();
        long runStartStep = step;
        for (int epoch = (int)(step / StepsPerEpoch); epoch < Epochs; epoch++)
        {
            int skip = (int)(step - (long)epoch * StepsPerEpoch);
            var epochClock = Stopwatch.StartNew();
            double lossSum = 0;
            long images = 0, lossCount = 0;
            int stepInEpoch = skip;
            Network.train();
            _task.OnEpochStart(Network, epoch, Epochs);
            FreezeBackbone(Options.FeaturesFrozenAt(epoch));
            if (Options.FreezeFeatures && epoch == Options.UnfreezeAfterEpochs && skip == 0)
                _progress.OnMessage($"Epoch {epoch + 1}: the features are unfrozen; the whole network trains from here on.");
            // Resumed mid-epoch: the loader starts at the first untrained batch without decoding the ones before it.
            foreach (var batch in _task.ReadEpoch(epoch, Math.Min(skip, _task.BatchesPerEpoch)))
            {
                using var b = batch;
                // A batch the loader dropped (every image unreadable and skipped) still counts as a step, so step
                // numbers, the learning rate and a mid-epoch resume stay aligned with the loader's batch indices.
                if (b.BatchIndex > stepInEpoch)
                {
                    step += b.BatchIndex - stepInEpoch;
                    stepInEpoch = b.BatchIndex;
                }
                if (stepInEpoch >= StepsPerEpoch) break;
                if (StopRequested(cancellationToken))
                    return Interrupt(epoch, step, best, history);

                double loss = TrainStep(b, epoch, stepInEpoch, step, cancellationToken);
                step++;
                stepInEpoch++;
                lossSum += loss;
                lossCount++;
                images += b.Count;
                double seconds = runClock.Elapsed.TotalSeconds;
                var eta = TimeSpan.FromSeconds(seconds / (step - runStartStep) * (Schedule.TotalSteps - step));
                _progress.OnStep(new StepReport(epoch, Epochs, stepInEpoch, StepsPerEpoch, step, Schedule.TotalSteps, loss,
                    Schedule.At(step - 1), images / epochClock.Elapsed.TotalSeconds, eta));
            }
            if (StopRequested(cancellationToken) && stepInEpoch < StepsPerEpoch)
                return Interrupt(epoch, step, best, history);
            step = (long)(epoch + 1) * StepsPerEpoch; // the same even when the epoch's last batches were dropped
            double trainSeconds = epochClock.Elapsed.TotalSeconds;

            using (var totals = _communicator.Size == 1 ? tensor(new[] { lossSum, lossCount })
                : tensor(new[] { lossSum, lossCount, cancellationToken.IsCancellationRequested ? 1.0 : 0.0 }))
            {
                _communicator.AllReduceSum(totals);
                var t = totals.data<double>().ToArray();
                lossSum = t[1] > 0 ? t[0] / t[1] : double.NaN;
                // Several processes: a stop asked for during the epoch's last step is agreed here, so every rank
                // evaluates, checkpoints and then stops at the epoch boundary together.
                if (t.Length > 2) _stopAgreed |= t[2] > 0;
            }
            SyncRunningStats(); // every rank evaluates and saves the same statistics
            var eval = _task.Evaluate(Network);
            var emaEval = Ema is null ? null : _task.Evaluate(Ema.Module);
            using var self = Process.GetCurrentProcess();
            var metrics = _task.Record(new EpochMetrics
            {
                Epoch = epoch + 1,
                Step = step,
                TrainLoss = lossSum,
                LearningRate = Schedule.At(step - 1),
                ImagesPerSecond = images / trainSeconds,
                Seconds = epochClock.Elapsed.TotalSeconds,
                MemoryMiB = self.WorkingSet64 / (1024.0 * 1024.0),
                LiveTensors = DisposeScopeManager.Statistics.ThreadTotalLiveCount,
            }, eval, emaEval);
            history.Add(metrics);
            bool isBest = eval.PrimaryValue > best;
            if (isBest) best = eval.PrimaryValue;
            if (_store is not null && _log is not null)
            {
                Save(epoch + 1, step, best, isBest);
                _log.Append(metrics);
                TrainingPlots.Write(_store.Directory, history, Schedule);
            }
            _progress.OnEpoch(metrics);
        }
        return new TrainingResult(history, Epochs, step, false, _store?.LastPath, _store is not null && best >= 0 ? _store.BestPath : null);
    }

    private TrainingResult Interrupt(int epoch, long step, double best, List<EpochMetrics> history)
    {
        SyncRunningStats();
        if (_store is not null)
        {
            Save(epoch, step, best, isBest: false);
            _progress.OnMessage($"Interrupted at epoch {epoch + 1}, step {step}; saved '{_store.LastPath}'. Continue with --resume {_store.LastPath}.");
        }
        return new TrainingResult(history, epoch, step, true, _store?.LastPath, _store is not null && File.Exists(_store.BestPath) ? _store.BestPath : null);
    }

    /// <summary>
    /// The seed of libtorch's generator for global step <paramref name="step"/> on process <paramref name="rank"/>:
    /// dropout's and drop-path's draws depend on (seed, step, rank) only, so a resumed run draws the same masks, and
    /// each rank of a job draws its own (rank 0's are a single process's).
    /// </summary>
    internal static int StepSeed(int seed, long step, int rank) =>
        rank == 0 ? SeedMixer.Mix(seed, 1, step) : SeedMixer.Mix(seed, 1, step, rank);

    /// <summary>One optimizer step inside its own dispose scope; returns the loss.</summary>
    private double TrainStep(ITrainingBatch batch, int epoch, int stepInEpoch, long step, CancellationToken cancellationToken)
    {
        using var scope = NewDisposeScope();
        manual_seed(StepSeed(Options.Seed, step, _communicator.Rank));
        double lr = Schedule.At(step);
        _optimizer.LearningRate = lr;
        _optimizer.ZeroGrad();
        var loss = _task.Loss(Network, batch);
        double value = loss.item<float>();
        string where = "";
        if (_communicator.Size > 1)
        {
            // One tiny all-reduce per step: every rank learns every rank's loss and whether any wants to stop, so a
            // NaN on one rank (or Ctrl+C reaching one rank first) stops all of them at the same step, none left
            // waiting in the gradient all-reduce.
            var (mean, badRanks, badLoss, stop) = AgreeOnStep(value, cancellationToken.IsCancellationRequested);
            _stopAgreed |= stop;
            if (badRanks.Count > 0)
            {
                value = badLoss;
                where = $" on rank{(badRanks.Count > 1 ? "s" : "")} {string.Join(", ", badRanks)} of {_communicator.Size}";
            }
            else value = mean;
        }
        if (!double.IsFinite(value))
        {
            string kept = _store is not null && File.Exists(_store.LastPath) ? $"The last good checkpoint, '{_store.LastPath}', is kept."
                : _store is null && _communicator.Size > 1 ? "Rank 0 keeps the last good checkpoint, if one was written." : "No checkpoint had been written yet.";
            throw new TrainingDivergedException(string.Create(CultureInfo.InvariantCulture,
                $"The training loss became {value}{where} at epoch {epoch + 1}, step {stepInEpoch + 1} of {StepsPerEpoch} (global step {step}), learning rate {lr:G4}; training stopped. {kept} Lower the learning rate (--lr) or clip gradients (--clip-grad)."),
                epoch + 1, step, value);
        }
        loss.backward();
        _flatGradients?.AverageGradients(_communicator); // one all-reduce + divide, before clipping and the step
        if (Options.ClipGradNorm is { } clip) nn.utils.clip_grad_norm_(_parameters, clip);
        _optimizer.Step();
        Ema?.Update();
        return value;
    }

    /// <summary>
    /// Freezes or unfreezes everything outside the classifier. Frozen parameters take no gradient, so the optimizers skip
    /// them (no update, no weight decay, momentum kept); frozen BatchNorm layers run in eval mode, normalising with
    /// their running statistics and leaving them as they are. Called after <c>Model.train()</c> at every epoch start,
    /// so a resumed run freezes exactly as the uninterrupted one did.
    /// </summary>
    private void FreezeBackbone(bool frozen)
    {
        _backboneFrozen = frozen;
        foreach (var p in _backbone) p.requires_grad = !frozen;
        if (frozen) foreach (var norm in _backboneNorms) norm.eval();
    }

    /// <summary>Whether to stop before the next step: the token with one process, the ranks' agreement with several.</summary>
    private bool StopRequested(CancellationToken cancellationToken) =>
        _communicator.Size == 1 ? cancellationToken.IsCancellationRequested : _stopAgreed;

    /// <summary>
    /// All-reduces [loss of rank 0, …, loss of rank N−1, stop flag] (each rank fills its own slot): returns the mean
    /// loss over ranks, the ranks whose loss is not finite (and the first such loss), and whether any rank asked to
    /// stop. Identical on every rank.
    /// </summary>
    private (double Mean, List<int> BadRanks, double BadLoss, bool Stop) AgreeOnStep(double loss, bool stop)
    {
        int n = _communicator.Size;
        var slots = new double[n + 1];
        slots[_communicator.Rank] = loss;
        slots[n] = stop ? 1 : 0;
        using var t = tensor(slots);
        _communicator.AllReduceSum(t);
        var all = t.data<double>().ToArray();
        var bad = Enumerable.Range(0, n).Where(r => !double.IsFinite(all[r])).ToList();
        return (all.Take(n).Sum() / n, bad, bad.Count > 0 ? all[bad[0]] : double.NaN, all[n] > 0);
    }

    /// <summary>
    /// With several processes, averages the BatchNorm running statistics (model and EMA) over the ranks. Not while the
    /// backbone is frozen: then every statistic is still the loaded one on every rank, and a mean of equal values over 3
    /// ranks need not give the value back bit for bit.
    /// </summary>
    private void SyncRunningStats()
    {
        if (_communicator.Size == 1 || _backboneFrozen) return;
        BatchNormSync.AverageRunningStats(Network, _communicator);
        if (Ema is not null) BatchNormSync.AverageRunningStats(Ema.Module, _communicator);
    }

    /// <summary>Writes a checkpoint (root only); tensors on a GPU are written from host copies made for the write.</summary>
    private void Save(int completedEpochs, long step, double best, bool isBest)
    {
        using var scope = NewDisposeScope(); // the host copies, if any
        _store!.Save(MakeCheckpoint(completedEpochs, step, best), isBest);
    }

    private static Dictionary<string, Tensor> OnHost(IEnumerable<KeyValuePair<string, Tensor>> state)
    {
        using var _ = no_grad(); // plain copies, no autograd history
        return state.ToDictionary(kv => kv.Key, kv => kv.Value.device_type == DeviceType.CPU ? kv.Value : kv.Value.detach().cpu(), StringComparer.Ordinal);
    }

    private TrainingCheckpoint MakeCheckpoint(int completedEpochs, long step, double best) => new()
    {
        Task = _task.Identity.Task,
        Model = _task.Identity.Model,
        Width = _task.Identity.Width,
        IdentityMultiplier = _task.Identity.IdentityMultiplier,
        Classes = _task.Classes,
        DataSource = _task.DataSource,
        TaskSettings = _task.Settings,
        Epoch = completedEpochs,
        Step = step,
        StepsPerEpoch = StepsPerEpoch,
        WorldSize = _communicator.Size,
        BestTop1 = best,
        Options = Options,
        ModelState = OnHost(Network.state_dict()),
        EmaState = Ema is null ? null : OnHost(Ema.Module.state_dict()),
        MomentumBuffers = OnHost(_optimizer.MomentumBuffers()),
        SquareAverages = _optimizer is RmsPropTfOptimizer rms ? OnHost(rms.SquareAverages()) : null,
    };

    private (long Step, double Best) Resume(string path)
    {
        using var checkpoint = TrainingCheckpoint.Read(path);
        var identity = _task.Identity;
        checkpoint.RequireTask(identity.Task, path);
        if (checkpoint.Model != identity.Model || Math.Abs(checkpoint.Width - identity.Width) > 1e-9
            || checkpoint.IdentityMultiplier != identity.IdentityMultiplier || checkpoint.Classes.Count != identity.Classes.Count)
        {
            throw new InvalidDataException(
                $"Checkpoint '{path}' holds {Describe(checkpoint.Model, checkpoint.Width, checkpoint.IdentityMultiplier, checkpoint.Classes.Count)}, " +
                $"but this run trains {Describe(identity.Model, identity.Width, identity.IdentityMultiplier, identity.Classes.Count)}. " +
                "Resume with the same --model, --width, --identity-multiplier and data, or start a new run in another --output folder.");
        }
        if (checkpoint.WorldSize != _communicator.Size)
            throw new InvalidDataException(
                $"Checkpoint '{path}' was written by {checkpoint.WorldSize} rank{(checkpoint.WorldSize == 1 ? "" : "s")}, but this run has {_communicator.Size}; " +
                (checkpoint.WorldSize == 1 ? "resume it without mpirun" : $"resume with mpirun -np {checkpoint.WorldSize}") +
                " (the data order, steps per epoch and learning rate depend on the number of ranks, so only the same number continues exactly), or start a new run in another --output folder.");
        if (checkpoint.StepsPerEpoch != StepsPerEpoch)
            throw new InvalidDataException(
                $"Checkpoint '{path}' was taken with {checkpoint.StepsPerEpoch} steps per epoch, this run has {StepsPerEpoch}; resume with the same --batch-size, --steps-per-epoch, number of processes and data.");
        if (checkpoint.Options.Optimizer != Options.Optimizer)
            throw new InvalidDataException(
                $"Checkpoint '{path}' was trained with the {checkpoint.Options.Optimizer} optimizer, this run uses {Options.Optimizer}; " +
                "resume with the same optimizer (its state does not carry over), or start a new run in another --output folder.");
        ModelWeights.Load(Network, checkpoint.ModelState, path);
        if (Ema is not null)
        {
            if (checkpoint.EmaState is not null) ModelWeights.Load(Ema.Module, checkpoint.EmaState, path);
            else Ema.CopyFromModel();
        }
        _optimizer.LoadMomentumBuffers(checkpoint.MomentumBuffers);
        if (_optimizer is RmsPropTfOptimizer rms) rms.LoadSquareAverages(checkpoint.SquareAverages ?? new Dictionary<string, Tensor>());
        return (checkpoint.Step, checkpoint.BestTop1);
    }

    private static string Describe(string model, double width, double alpha, int classes) =>
        string.Create(CultureInfo.InvariantCulture, $"{model} (width {width:0.###}, α {alpha:0.###}, {classes} classes)");

    /// <inheritdoc />
    public void Dispose()
    {
        _optimizer.Dispose();
        _flatGradients?.Dispose();
        Ema?.Dispose();
        Network.Dispose();
    }
}
