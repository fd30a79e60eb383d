using System.Text.Json.Serialization;

namespace MobileNeXt.Training.Reporting;

/// <summary>What the trainer reports after every optimizer step.</summary>
/// <param name="Epoch">Epoch in progress, from 0.</param>
/// <param name="Epochs">Total epochs.</param>
/// <param name="StepInEpoch">Steps done in this epoch (1 after the first).</param>
/// <param name="StepsPerEpoch">Steps per epoch.</param>
/// <param name="GlobalStep">Steps done in the run.</param>
/// <param name="TotalSteps">Steps of the whole run.</param>
/// <param name="Loss">This step's training loss.</param>
/// <param name="LearningRate">This step's learning rate.</param>
/// <param name="ImagesPerSecond">Training throughput of this process over the epoch so far.</param>
/// <param name="Eta">Estimated time to the end of the run (training steps only).</param>
public sealed record StepReport(int Epoch, int Epochs, int StepInEpoch, int StepsPerEpoch, long GlobalStep, long TotalSteps,
    double Loss, double LearningRate, double ImagesPerSecond, TimeSpan Eta);

/// <summary>One line of the metrics log: an epoch's training and validation results.</summary>
public sealed record EpochMetrics
{
    /// <summary>Epoch number, from 1.</summary>
    public int Epoch { get; init; }

    /// <summary>Global steps done at the end of the epoch.</summary>
    public long Step { get; init; }

    /// <summary>Mean training loss over the epoch (all processes).</summary>
    public double TrainLoss { get; init; }

    /// <summary>Learning rate of the epoch's last step.</summary>
    public double LearningRate { get; init; }

    /// <summary>Validation top-1 accuracy, %.</summary>
    public double Top1 { get; init; }

    /// <summary>Validation top-5 accuracy, % (top-k with k = classes when there are fewer than 5).</summary>
    public double Top5 { get; init; }

    /// <summary>Top-1 of the EMA weights, %, when EMA is on.</summary>
    public double? EmaTop1 { get; init; }

    /// <summary>Top-5 of the EMA weights, %, when EMA is on.</summary>
    public double? EmaTop5 { get; init; }

    /// <summary>
    /// The name of the task's primary metric in <see cref="Metrics"/> (e.g. <c>mAP@0.5</c>); null for classification,
    /// whose metrics are <see cref="Top1"/> and <see cref="Top5"/> (absent from the log then, as before tasks existed).
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? MetricName { get; init; }

    /// <summary>The task's validation metrics by name (detection: mAP@0.5 and the others), or null for classification.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, double>? Metrics { get; init; }

    /// <summary>The same metrics of the EMA weights, when EMA is on (null for classification, which uses <see cref="EmaTop1"/>).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, double>? EmaMetrics { get; init; }

    /// <summary>The metric that ranks checkpoints: <see cref="Metrics"/>[<see cref="MetricName"/>], or <see cref="Top1"/> for classification.</summary>
    [JsonIgnore]
    public double PrimaryMetric => MetricName is { } name && Metrics is { } all && all.TryGetValue(name, out var v) ? v : Top1;

    /// <summary>Display name of <see cref="PrimaryMetric"/>.</summary>
    [JsonIgnore]
    public string PrimaryMetricName => MetricName ?? "top-1";

    /// <summary>Training images per second of this process.</summary>
    public double ImagesPerSecond { get; init; }

    /// <summary>Wall time of the epoch (training and evaluation), seconds.</summary>
    public double Seconds { get; init; }

    /// <summary>Resident memory of the process at the end of the epoch, MiB (to spot growth over a long run).</summary>
    public double MemoryMiB { get; init; }

    /// <summary>Live tensors of the training thread at the end of the epoch (TorchSharp's count; constant when nothing leaks).</summary>
    public long LiveTensors { get; init; }
}

/// <summary>Receives the trainer's progress: what a person watching the run sees. Called on the training thread.</summary>
public interface ITrainingProgress
{
    /// <summary>After every optimizer step.</summary>
    void OnStep(StepReport report);

    /// <summary>After each epoch's evaluation.</summary>
    void OnEpoch(EpochMetrics metrics);

    /// <summary>A message worth showing (resumed from, checkpoint written, skipped files).</summary>
    void OnMessage(string message);
}

/// <summary>Reports nothing.</summary>
public sealed class SilentProgress : ITrainingProgress
{
    /// <summary>The shared instance.</summary>
    public static SilentProgress Instance { get; } = new();

    /// <inheritdoc />
    public void OnStep(StepReport report) { }

    /// <inheritdoc />
    public void OnEpoch(EpochMetrics metrics) { }

    /// <inheritdoc />
    public void OnMessage(string message) { }
}
