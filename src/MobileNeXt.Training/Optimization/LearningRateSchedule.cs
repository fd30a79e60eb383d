using MobileNeXt.Training.Recipes;

namespace MobileNeXt.Training.Optimization;

/// <summary>
/// The learning rate as a closed-form function of the global step (set every iteration; nothing to save, since a
/// resumed run recomputes it from the step). With W warm-up steps, C the first cool-down step and S the step:
/// <list type="bullet">
/// <item>S &lt; W: linear warm-up, <c>start + (peak − start) · S / W</c>;</item>
/// <item>W ≤ S &lt; C: cosine, <c>min + ½ (peak − min) (1 + cos(π (S − W) / (C − W)))</c>;</item>
/// <item>S ≥ C: cool-down at <c>min</c>.</item>
/// </list>
/// With <paramref name="DecayEveryEpochs"/> = N set, the step schedule replaces the last two: for S ≥ W,
/// <c>peak · γ^⌊e / N⌋</c> with <c>e = S / steps per epoch</c> the fractional epoch counted from the start of the run
/// (as timm's <c>StepLRScheduler</c> of 2020, which the MobileNeXt† code trained with: <c>decay_rate ** (t // decay_t)</c>,
/// t the epoch, warm-up included; later timm versions count from the warm-up's end with <c>warmup_prefix=True</c>), so
/// the decays that fall into the warm-up already apply when it ends. Unlike timm, which sets the rate once per epoch,
/// the rate here changes at the step where the (fractional) boundary falls, like every schedule of this trainer.
/// </summary>
/// <param name="PeakLearningRate">The rate at the end of warm-up (already scaled to the global batch).</param>
/// <param name="StepsPerEpoch">Optimizer steps per epoch.</param>
/// <param name="Epochs">Total epochs.</param>
/// <param name="WarmupEpochs">Epochs of warm-up.</param>
/// <param name="WarmupStartLearningRate">The rate at step 0.</param>
/// <param name="MinLearningRate">The rate the cosine ends at, kept during cool-down.</param>
/// <param name="CooldownEpochs">Epochs at the end spent at <paramref name="MinLearningRate"/>.</param>
/// <param name="DecayEveryEpochs">Null for the cosine; else the step schedule's epochs between decays (may be fractional).</param>
/// <param name="DecayRate">The step schedule's factor γ per decay.</param>
/// <param name="Milestones">
/// Non-null for the multistep schedule (the detection recipe's, counted in iterations): for step S,
/// <c>peak · f(S) · γ^#{m ∈ Milestones : m ≤ S}</c> with the warm-up factor <c>f(S) = w (1 − S/I) + S/I</c> for
/// S &lt; I = <paramref name="WarmupIterations"/> and 1 after, w = <paramref name="WarmupStartFactor"/> — maskrcnn-benchmark's
/// <c>WarmupMultiStepLR</c> (linear method, <c>bisect_right</c> over the milestones, stepped once per iteration), which the
/// released SSDLite code trains with (followon-models.md §B, "Training").
/// </param>
/// <param name="WarmupIterations">The multistep schedule's warm-up length in iterations.</param>
/// <param name="WarmupStartFactor">The multistep schedule's warm-up factor at step 0.</param>
/// <param name="PerEpoch">Cosine and step schedules: every step of an epoch takes the rate of the epoch's first step (<see cref="TrainingOptions.LearningRatePerEpoch"/>).</param>
public sealed record LearningRateSchedule(double PeakLearningRate, long StepsPerEpoch, int Epochs, int WarmupEpochs,
    double WarmupStartLearningRate, double MinLearningRate, int CooldownEpochs, double? DecayEveryEpochs = null, double DecayRate = 1,
    IReadOnlyList<long>? Milestones = null, long WarmupIterations = 0, double WarmupStartFactor = 1, bool PerEpoch = false)
{
    /// <summary>The schedule of <paramref name="options"/> for a global batch of <paramref name="globalBatchSize"/>.</summary>
    public static LearningRateSchedule From(TrainingOptions options, long stepsPerEpoch, int globalBatchSize)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stepsPerEpoch);
        bool multistep = options.Schedule == ScheduleNames.MultiStep;
        return new(ScaledLearningRate(options.LearningRate, globalBatchSize, options.ReferenceBatchSize), stepsPerEpoch,
            options.EpochsFor(stepsPerEpoch), options.WarmupEpochs, options.WarmupStartLearningRate, options.MinLearningRate, options.CooldownEpochs,
            options.Schedule == ScheduleNames.Step ? options.DecayEpochs : null, options.DecayRate,
            multistep ? options.Milestones : null, multistep ? options.WarmupIterations : 0, multistep ? options.WarmupStartFactor : 1,
            options.LearningRatePerEpoch);
    }

    /// <summary>Linear scaling (Goyal et al. 2017): <c>baseRate × globalBatch / referenceBatch</c>.</summary>
    public static double ScaledLearningRate(double baseRate, int globalBatchSize, int referenceBatchSize) =>
        baseRate * globalBatchSize / referenceBatchSize;

    /// <summary>First step of the cosine phase.</summary>
    public long WarmupSteps => WarmupEpochs * StepsPerEpoch;

    /// <summary>First step of the cool-down.</summary>
    public long CooldownStart => (long)(Epochs - CooldownEpochs) * StepsPerEpoch;

    /// <summary>Total steps of the run.</summary>
    public long TotalSteps => Epochs * StepsPerEpoch;

    /// <summary>The learning rate of global step <paramref name="step"/> (0-based).</summary>
    public double At(long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        if (PerEpoch && Milestones is null) step -= step % StepsPerEpoch; // the epoch's first step sets its rate
        if (Milestones is not null)
        {
            double a = step < WarmupIterations ? (double)step / WarmupIterations : 1;
            double warmup = WarmupStartFactor * (1 - a) + a;
            return PeakLearningRate * warmup * Math.Pow(DecayRate, Milestones.Count(m => m <= step));
        }
        if (step < WarmupSteps)
            return WarmupStartLearningRate + (PeakLearningRate - WarmupStartLearningRate) * step / WarmupSteps;
        if (DecayEveryEpochs is { } every)
        {
            // The tiny allowance makes a boundary that falls on a whole step (2.4 epochs of 100 steps: step 240) decay
            // at that step, whatever the binary rounding of 2.4 makes of the quotient.
            double decays = Math.Floor((double)step / StepsPerEpoch / every + 1e-9);
            return PeakLearningRate * Math.Pow(DecayRate, decays);
        }
        if (step < CooldownStart)
        {
            double t = (double)(step - WarmupSteps) / (CooldownStart - WarmupSteps);
            return MinLearningRate + 0.5 * (PeakLearningRate - MinLearningRate) * (1 + Math.Cos(Math.PI * t));
        }
        return MinLearningRate;
    }
}
