using MobileNeXt.Models;

namespace MobileNeXt.Training.Recipes;

/// <summary>
/// Everything that decides a training run: model, recipe, data handling and output. Presets
/// (<see cref="RecipePresets"/>) fill the recipe values with their sources; any value can be overridden with
/// <c>with { … }</c>. The options are stored (as JSON) in every checkpoint, so a resumed run continues with them.
/// </summary>
public sealed record TrainingOptions
{
    /// <summary>Name of the preset the values came from (informational). Default <c>paper</c>.</summary>
    public string Preset { get; init; } = "paper";

    /// <summary>Registry model name, e.g. <c>mobilenext_100</c>. Default <c>mobilenext_100</c>.</summary>
    public string Model { get; init; } = "mobilenext_100";

    /// <summary>Width multiplier overriding the one in the model's name; null keeps it. Default null.</summary>
    public double? Width { get; init; }

    /// <summary>Identity tensor multiplier α (Sec. 3.3). Default 1.</summary>
    public double IdentityMultiplier { get; init; } = 1.0;

    /// <summary>Training and evaluation input side in pixels (at least 32). Default 224.</summary>
    public int InputSize { get; init; } = 224;

    /// <summary>Side the evaluation resizes the shorter image side to before the centre crop; null = InputSize / 0.875 (256 for 224). Default null.</summary>
    public int? EvalResizeSize { get; init; }

    /// <summary>Dropout before the classifier. Default 0.2.</summary>
    public double DropRate { get; init; } = 0.2;

    /// <summary>Total epochs, warm-up and cool-down included. Default 200.</summary>
    public int Epochs { get; init; } = 200;

    /// <summary>Samples per step on each process (the global batch is this × the number of processes). Default 256.</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>Peak learning rate at <see cref="ReferenceBatchSize"/>; scaled linearly with the global batch. Default 0.05.</summary>
    public double LearningRate { get; init; } = 0.05;

    /// <summary>The global batch <see cref="LearningRate"/> is given for. Default 256.</summary>
    public int ReferenceBatchSize { get; init; } = 256;

    /// <summary>
    /// The optimizer: <c>sgd</c> (<see cref="Optimization.SgdOptimizer"/>, the paper's) or <c>rmsproptf</c>
    /// (<see cref="Optimization.RmsPropTfOptimizer"/>, timm's TensorFlow-style RMSprop, the MobileNeXt† recipe's).
    /// Default <c>sgd</c> (also what a checkpoint written before this option existed resumes with).
    /// </summary>
    public string Optimizer { get; init; } = "sgd";

    /// <summary>Momentum of either optimizer. Default 0.9.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>Smoothing constant α of RMSpropTF's square average (unused by SGD). Default 0.9.</summary>
    public double RmsPropAlpha { get; init; } = 0.9;

    /// <summary>ε of RMSpropTF, added inside the square root (unused by SGD). Default 1e-3.</summary>
    public double RmsPropEpsilon { get; init; } = 1e-3;

    /// <summary>SGD Nesterov momentum (SGD only). Default false.</summary>
    public bool Nesterov { get; init; }

    /// <summary>L2 weight decay. Default 4e-5.</summary>
    public double WeightDecay { get; init; } = 4e-5;

    /// <summary>Whether BatchNorm weights/biases and all biases (every tensor of rank ≤ 1) get weight decay too. Default true.</summary>
    public bool DecayNormAndBias { get; init; } = true;

    /// <summary>Label smoothing ε of the cross-entropy. Default 0.</summary>
    public double LabelSmoothing { get; init; }

    /// <summary>Epochs of linear warm-up at the start. Default 3.</summary>
    public int WarmupEpochs { get; init; } = 3;

    /// <summary>Learning rate at the first warm-up step. Default 0.</summary>
    public double WarmupStartLearningRate { get; init; }

    /// <summary>
    /// The shape after warm-up: <c>cosine</c> (to <see cref="MinLearningRate"/>, then <see cref="CooldownEpochs"/> at it) or
    /// <c>step</c> (× <see cref="DecayRate"/> every <see cref="DecayEpochs"/> epochs). Default <c>cosine</c>.
    /// </summary>
    public string Schedule { get; init; } = "cosine";

    /// <summary>With the <c>step</c> schedule, epochs between decays (may be fractional, e.g. 2.4). Default 2.4.</summary>
    public double DecayEpochs { get; init; } = 2.4;

    /// <summary>With the <c>step</c> schedule, the factor applied at each decay. Default 0.97.</summary>
    public double DecayRate { get; init; } = 0.97;

    /// <summary>
    /// With the <c>multistep</c> schedule, the global iterations (optimizer steps) at which the rate is multiplied by
    /// <see cref="DecayRate"/>, ascending (the detection recipe: 40,000 and 50,000). Default none.
    /// </summary>
    public IReadOnlyList<long> Milestones { get; init; } = [];

    /// <summary>
    /// With the <c>multistep</c> schedule, the warm-up's length in iterations (replacing <see cref="WarmupEpochs"/>, which
    /// must then be 0). Default 0.
    /// </summary>
    public int WarmupIterations { get; init; }

    /// <summary>
    /// With the <c>multistep</c> schedule, the warm-up's first rate as a fraction of the peak (maskrcnn-benchmark's
    /// <c>warmup_factor</c>; 0.1333 in the detection recipe). Default 1/3.
    /// </summary>
    public double WarmupStartFactor { get; init; } = 1.0 / 3;

    /// <summary>
    /// The run's length in iterations (optimizer steps), for recipes written in iterations; null keeps <see cref="Epochs"/>.
    /// The run trains ⌈Iterations / steps per epoch⌉ whole epochs, so evaluation and checkpoints stay at epoch ends
    /// (at most one epoch more than asked). Default null.
    /// </summary>
    public long? Iterations { get; init; }

    /// <summary>The epochs the run trains with <paramref name="stepsPerEpoch"/> steps each: <see cref="Epochs"/>, or as many as <see cref="Iterations"/> needs.</summary>
    public int EpochsFor(long stepsPerEpoch) =>
        Iterations is { } n ? (int)Math.Max(1, (n + stepsPerEpoch - 1) / Math.Max(1, stepsPerEpoch)) : Epochs;

    /// <summary>
    /// Whether the rate changes only at epoch boundaries, keeping each epoch's first-step value for the whole epoch, as
    /// schedulers stepped once per epoch do (DARTS's <c>CosineAnnealingLR</c>, stepped per epoch in quark0/darts
    /// <c>cnn/train.py</c>); cosine and step schedules only. Default false: the rate changes every step.
    /// </summary>
    public bool LearningRatePerEpoch { get; init; }

    /// <summary>Learning rate at the end of the cosine, kept during cool-down (cosine schedule only). Default 0.</summary>
    public double MinLearningRate { get; init; }

    /// <summary>Epochs at <see cref="MinLearningRate"/> at the end (part of <see cref="Epochs"/>). Default 0.</summary>
    public int CooldownEpochs { get; init; }

    /// <summary>Colour jitter strength for brightness, contrast and saturation; 0 disables it. Default 0.</summary>
    public double ColorJitter { get; init; }

    /// <summary>Smallest crop area of the Inception crop. Default 0.08.</summary>
    public double MinCropScale { get; init; } = 0.08;

    /// <summary>
    /// Detection only: the largest zoom-out of SSD's augmentation (its "expand": the image on a mean-colour canvas up to
    /// this many times its side, with probability ½); 1 turns the zoom-out off. Default 4, SSD's.
    /// </summary>
    public double DetectionMaxZoomOut { get; init; } = 4;

    /// <summary>Detection only: the IoU from which a prior is a positive of a ground-truth box. Default 0.5, SSD's.</summary>
    public double DetectionIouThreshold { get; init; } = 0.5;

    /// <summary>Decay of the exponential moving average of the weights; null turns EMA off. Default null.</summary>
    public double? EmaDecay { get; init; }

    /// <summary>Clip the global gradient L2 norm to this value; null disables clipping. Default null.</summary>
    public double? ClipGradNorm { get; init; }

    /// <summary>Seed of data order, augmentation, initialisation and dropout. Default 0.</summary>
    public int Seed { get; init; }

    /// <summary>Data worker threads. Default 2.</summary>
    public int Workers { get; init; } = 2;

    /// <summary>
    /// libtorch intra-op threads; null lets the trainer choose (<see cref="Trainer.DefaultThreads(double, TrainingOptions, int, int)"/>: the process's
    /// share of the cores, less the data workers for a small network). Default null.
    /// </summary>
    public int? Threads { get; init; }

    /// <summary>
    /// Where the model trains: <c>cpu</c>, <c>cuda</c> (the first GPU; under mpirun each rank takes the GPU of its
    /// node-local rank, modulo the GPUs it sees) or <c>cuda:N</c>. A GPU needs an app that references a CUDA build of
    /// libtorch instead of <c>libtorch-cpu-*</c>. Data is decoded on the CPU and each batch copied over; collectives
    /// stage through host memory. Default <c>cpu</c>.
    /// </summary>
    public string Device { get; init; } = "cpu";

    /// <summary>
    /// Keep the memory libtorch frees for reuse instead of returning it to the kernel (<see cref="TorchRuntime.RetainFreedMemory"/>;
    /// the process-wide glibc setting that made a batch-32 training step several times faster on this project's machines).
    /// Default true; set false when the process must give memory back between steps.
    /// </summary>
    public bool RetainFreedMemory { get; init; } = true;

    /// <summary>
    /// Hand the model channels-last (NHWC-strided) batches in training and evaluation (<see cref="MemoryLayout"/>), so
    /// libtorch's oneDNN convolutions run without reordering every activation; weights stay ordinarily contiguous, so
    /// checkpoints are unchanged. The results differ from the NCHW path only by float rounding (another summation order).
    /// Default true (faster on the CPUs measured in <c>bench/</c>); set false to train in PyTorch's default layout.
    /// </summary>
    public bool ChannelsLast { get; init; } = true;

    /// <summary>
    /// How the pointwise convolutions of channels-last batches are computed (<see cref="MemoryLayout.PointwiseConvolutions"/>,
    /// which the trainer sets for the process). Default <see cref="PointwiseConvolutionPath.Auto"/>: libtorch's checked
    /// 1×1 kernel under tcmalloc, the matrix product under glibc's malloc. The trainer resolves it when a run starts and
    /// stores the path it took in the run's checkpoints, so a resumed run computes as it did even under another allocator.
    /// </summary>
    public PointwiseConvolutionPath PointwiseConvolutions { get; init; } = PointwiseConvolutionPath.Auto;

    /// <summary>
    /// How BatchNorm layers compute channels-last batches in training (<see cref="MemoryLayout.BatchNorm"/>, which the
    /// trainer sets for the process). Default <see cref="BatchNormPath.Auto"/>: this library's kernel (float64 sums, the
    /// ReLU6 after it in the same pass); the trainer stores the path it settles on in its checkpoints.
    /// </summary>
    public BatchNormPath BatchNorm { get; init; } = BatchNormPath.Auto;

    /// <summary>Where checkpoints, the metrics log and plots go. Default <c>runs/train</c>.</summary>
    public string OutputDirectory { get; init; } = Path.Combine("runs", "train");

    /// <summary>Print one progress line every this many steps when no terminal is attached. Default 50.</summary>
    public int LogEverySteps { get; init; } = 50;

    /// <summary>Stop after this many steps of each epoch (0 = the whole epoch); for quick trials. Default 0.</summary>
    public int MaxStepsPerEpoch { get; init; }

    /// <summary>
    /// Weights to start from instead of a random initialisation (fine-tuning): a released <c>.pth.tar</c>, a
    /// <c>mobilenext train</c> checkpoint, a PyTorch state_dict or a TorchSharp <c>.dat</c> file. Every tensor of the
    /// backbone must match the model (another architecture or width is refused with the file's mismatches); a classifier
    /// for another number of classes (or, from a training checkpoint, for differently named classes) is replaced by a
    /// freshly initialised one (<see cref="Checkpoints.InitialWeights"/>).
    /// Read when a run starts, not when it resumes. Default null (random initialisation).
    /// </summary>
    public string? InitialWeights { get; init; }

    /// <summary>
    /// Train only the classifier (a linear probe): every parameter outside the head is frozen, so it gets no gradient, no
    /// update and no weight decay, and the backbone's BatchNorm layers stay in eval mode, using and keeping the running
    /// statistics they came with (the backbone is a fixed function, as in a linear probe of a pretrained network; with
    /// several processes the statistics are not averaged while frozen, since they are equal everywhere). Default false.
    /// </summary>
    public bool FreezeFeatures { get; init; }

    /// <summary>
    /// With <see cref="FreezeFeatures"/>, unfreeze the backbone (gradients, updates, BatchNorm statistics) after this many
    /// epochs and fine-tune the whole network from then on (fastai's <c>fine_tune</c>: one frozen epoch by default);
    /// null keeps it frozen for the whole run. Default null.
    /// </summary>
    public int? UnfreezeAfterEpochs { get; init; }

    /// <summary>Whether the backbone is frozen during epoch <paramref name="epoch"/> (from 0).</summary>
    public bool FeaturesFrozenAt(int epoch) => FreezeFeatures && (UnfreezeAfterEpochs is not { } k || epoch < k);

    /// <summary>The model-creation options these settings imply for <paramref name="numClasses"/> classes.</summary>
    public ModelCreateOptions ModelCreateOptions(int numClasses) => new()
    {
        Width = Width,
        NumClasses = numClasses,
        IdentityMultiplier = IdentityMultiplier,
        DropRate = DropRate,
    };

    /// <summary>Evaluation resize side in use.</summary>
    public int EffectiveEvalResizeSize => EvalResizeSize ?? (int)Math.Round(InputSize / 0.875);

    /// <summary>Throws an <see cref="ArgumentOutOfRangeException"/> naming the first invalid value and what to use instead.</summary>
    public void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(Model);
        ArgumentException.ThrowIfNullOrWhiteSpace(OutputDirectory);
        Check(Epochs >= 1, nameof(Epochs), Epochs, "Epochs must be at least 1");
        Check(BatchSize >= 1, nameof(BatchSize), BatchSize, "BatchSize must be at least 1");
        Check(ReferenceBatchSize >= 1, nameof(ReferenceBatchSize), ReferenceBatchSize, "ReferenceBatchSize must be at least 1 (256 in the paper)");
        Check(LearningRate > 0 && double.IsFinite(LearningRate), nameof(LearningRate), LearningRate, "LearningRate must be a positive number (0.05 in the paper)");
        Check(Optimizer is OptimizerNames.Sgd or OptimizerNames.RmsPropTf, nameof(Optimizer), Optimizer, $"Optimizer must be '{OptimizerNames.Sgd}' or '{OptimizerNames.RmsPropTf}' (lower case)");
        Check(Momentum >= 0 && Momentum < 1, nameof(Momentum), Momentum, "Momentum must lie in [0, 1) (0.9)");
        Check(!Nesterov || Momentum > 0, nameof(Nesterov), Nesterov, "Nesterov momentum needs Momentum > 0");
        Check(!Nesterov || Optimizer == OptimizerNames.Sgd, nameof(Nesterov), Nesterov, $"Nesterov momentum is an SGD option; set Nesterov = false with Optimizer '{Optimizer}'");
        Check(RmsPropAlpha >= 0 && RmsPropAlpha < 1, nameof(RmsPropAlpha), RmsPropAlpha, "RmsPropAlpha must lie in [0, 1) (0.9 in the MobileNeXt† recipe)");
        Check(RmsPropEpsilon > 0 && double.IsFinite(RmsPropEpsilon), nameof(RmsPropEpsilon), RmsPropEpsilon, "RmsPropEpsilon must be a positive number (1e-3 in the MobileNeXt† recipe)");
        Check(WeightDecay >= 0 && double.IsFinite(WeightDecay), nameof(WeightDecay), WeightDecay, "WeightDecay must be ≥ 0");
        Check(LabelSmoothing >= 0 && LabelSmoothing < 1, nameof(LabelSmoothing), LabelSmoothing, "LabelSmoothing must lie in [0, 1) (0.1 in the released recipe)");
        Check(Schedule is ScheduleNames.Cosine or ScheduleNames.Step or ScheduleNames.MultiStep, nameof(Schedule), Schedule,
            $"Schedule must be '{ScheduleNames.Cosine}' or '{ScheduleNames.Step}' (lower case), or '{ScheduleNames.MultiStep}' for a recipe counted in iterations");
        Check(Milestones is not null && Milestones.All(m => m > 0) && Milestones.Zip(Milestones.Skip(1)).All(p => p.First < p.Second), nameof(Milestones),
            Milestones is null ? null : string.Join(", ", Milestones), "Milestones must be positive iterations in ascending order (40000, 50000 in the detection recipe)");
        Check(WarmupIterations >= 0, nameof(WarmupIterations), WarmupIterations, "WarmupIterations must be ≥ 0 (1000 in the detection recipe)");
        Check(WarmupIterations == 0 || (Schedule == ScheduleNames.MultiStep && WarmupEpochs == 0), nameof(WarmupIterations), WarmupIterations,
            "WarmupIterations belongs to the multistep schedule and replaces WarmupEpochs; use Schedule 'multistep' with WarmupEpochs = 0");
        Check(WarmupStartFactor > 0 && WarmupStartFactor <= 1, nameof(WarmupStartFactor), WarmupStartFactor, "WarmupStartFactor must lie in (0, 1] (0.1333 in the detection recipe)");
        Check(Iterations is null || Iterations >= 1, nameof(Iterations), Iterations, "Iterations must be at least 1, or null to count Epochs");
        Check(DecayEpochs > 0 && double.IsFinite(DecayEpochs), nameof(DecayEpochs), DecayEpochs, "DecayEpochs must be a positive number of epochs (2.4 in the MobileNeXt† recipe)");
        Check(DecayRate > 0 && DecayRate <= 1, nameof(DecayRate), DecayRate, "DecayRate must lie in (0, 1] (0.97 in the MobileNeXt† recipe)");
        Check(Schedule == ScheduleNames.Cosine || CooldownEpochs == 0, nameof(CooldownEpochs), CooldownEpochs, "CooldownEpochs belongs to the cosine schedule; set it to 0 with Schedule 'step'");
        Check(!LearningRatePerEpoch || Schedule != ScheduleNames.MultiStep, nameof(LearningRatePerEpoch), LearningRatePerEpoch,
            "LearningRatePerEpoch belongs to the cosine and step schedules; the multistep schedule counts iterations");
        Check(WarmupEpochs >= 0, nameof(WarmupEpochs), WarmupEpochs, "WarmupEpochs (--warmup-epochs) must be ≥ 0");
        Check(CooldownEpochs >= 0, nameof(CooldownEpochs), CooldownEpochs, "CooldownEpochs (--cooldown-epochs) must be ≥ 0");
        Check(WarmupEpochs + CooldownEpochs < Epochs, nameof(Epochs), Epochs, ScheduleTooShort());
        Check(WarmupStartLearningRate >= 0 && MinLearningRate >= 0, nameof(MinLearningRate), MinLearningRate, "WarmupStartLearningRate and MinLearningRate must be ≥ 0");
        Check(ColorJitter >= 0 && double.IsFinite(ColorJitter), nameof(ColorJitter), ColorJitter, "ColorJitter must be ≥ 0 (0.4 in the released recipe)");
        Check(DetectionMaxZoomOut >= 1, nameof(DetectionMaxZoomOut), DetectionMaxZoomOut, "DetectionMaxZoomOut must be at least 1 (1: no zoom-out; SSD's is 4)");
        Check(DetectionIouThreshold > 0 && DetectionIouThreshold <= 1, nameof(DetectionIouThreshold), DetectionIouThreshold, "DetectionIouThreshold must lie in (0, 1] (SSD's is 0.5)");
        Check(MinCropScale > 0 && MinCropScale <= 1, nameof(MinCropScale), MinCropScale, "MinCropScale must lie in (0, 1] (0.08)");
        Check(DropRate >= 0 && DropRate < 1, nameof(DropRate), DropRate, "DropRate must lie in [0, 1) (0.2)");
        Check(EmaDecay is null || (EmaDecay > 0 && EmaDecay < 1), nameof(EmaDecay), EmaDecay, "EmaDecay must lie in (0, 1), e.g. 0.9999, or be off");
        Check(ClipGradNorm is null || ClipGradNorm > 0, nameof(ClipGradNorm), ClipGradNorm, "ClipGradNorm must be positive, or off");
        Check(InputSize >= ImageClassifier.MinInputSize, nameof(InputSize), InputSize, $"InputSize must be at least {ImageClassifier.MinInputSize}");
        Check(EvalResizeSize is null || EvalResizeSize >= InputSize, nameof(EvalResizeSize), EvalResizeSize, "EvalResizeSize must be at least InputSize");
        Check(Workers >= 1, nameof(Workers), Workers, "Workers must be at least 1");
        Check(Threads is null || Threads >= 1, nameof(Threads), Threads, "Threads must be at least 1");
        Check(TrainingDevice.IsWellFormed(Device), nameof(Device), Device, "Device must be cpu, cuda or cuda:N (N = 0, 1, …)");
        Check(LogEverySteps >= 1, nameof(LogEverySteps), LogEverySteps, "LogEverySteps must be at least 1");
        Check(MaxStepsPerEpoch >= 0, nameof(MaxStepsPerEpoch), MaxStepsPerEpoch, "MaxStepsPerEpoch must be ≥ 0 (0 = whole epochs)");
        Check(InitialWeights is null || InitialWeights.Trim().Length > 0, nameof(InitialWeights), InitialWeights, "InitialWeights must be a file path, or null for a random initialisation");
        Check(UnfreezeAfterEpochs is null || FreezeFeatures, nameof(UnfreezeAfterEpochs), UnfreezeAfterEpochs, "UnfreezeAfterEpochs needs FreezeFeatures (--freeze-features); nothing is frozen to unfreeze");
        Check(UnfreezeAfterEpochs is null || (UnfreezeAfterEpochs >= 1 && UnfreezeAfterEpochs < Epochs), nameof(UnfreezeAfterEpochs), UnfreezeAfterEpochs,
            $"UnfreezeAfterEpochs (--unfreeze-after) must lie in [1, Epochs − 1] = [1, {Epochs - 1}], or be null to stay frozen");
    }

    // The warm-up and cool-down are part of Epochs; the schedule needs at least one epoch between them. Says which flags fix it.
    private string ScheduleTooShort()
    {
        string shape = Schedule == ScheduleNames.Cosine ? "cosine" : "decay";
        string lower = CooldownEpochs > 0
            ? $"--warmup-epochs and --cooldown-epochs so that they add up to at most {Epochs - 1} (WarmupEpochs, CooldownEpochs)"
            : $"--warmup-epochs to {Math.Max(0, Epochs - 1)} or less (WarmupEpochs)";
        return $"Epochs ({Epochs}) must leave at least one {shape} epoch after {WarmupEpochs} warm-up and {CooldownEpochs} cool-down epoch(s): " +
               $"raise --epochs to {WarmupEpochs + CooldownEpochs + 1} or more (Epochs), or lower {lower}";
    }

    private static void Check(bool ok, string name, object? value, string message)
    {
        if (!ok) throw new ArgumentOutOfRangeException(name, value, $"{message}; got {value ?? "null"}.");
    }
}

/// <summary>The values of <see cref="TrainingOptions.Optimizer"/>.</summary>
public static class OptimizerNames
{
    /// <summary>SGD with (Nesterov) momentum.</summary>
    public const string Sgd = "sgd";

    /// <summary>timm's TensorFlow-style RMSprop.</summary>
    public const string RmsPropTf = "rmsproptf";
}

/// <summary>The values of <see cref="TrainingOptions.Schedule"/>.</summary>
public static class ScheduleNames
{
    /// <summary>Warm-up, cosine, cool-down.</summary>
    public const string Cosine = "cosine";

    /// <summary>Warm-up, then a factor every few epochs.</summary>
    public const string Step = "step";

    /// <summary>Warm-up over iterations from a fraction of the peak, then a factor at each of the listed iterations (the detection recipe's WarmupMultiStepLR).</summary>
    public const string MultiStep = "multistep";
}
