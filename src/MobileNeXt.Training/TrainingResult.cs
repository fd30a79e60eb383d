using MobileNeXt.Training.Reporting;

namespace MobileNeXt.Training;

/// <summary>What a finished (or interrupted) run leaves behind.</summary>
/// <param name="Epochs">The metrics of every epoch of the run, resumed epochs included.</param>
/// <param name="CompletedEpochs">Epochs completed.</param>
/// <param name="GlobalStep">Optimizer steps done.</param>
/// <param name="Interrupted">Whether the run stopped early on cancellation (Ctrl+C); the checkpoint then holds the step reached.</param>
/// <param name="LastCheckpoint">Path of <c>last.pth</c>, or null on a non-root process.</param>
/// <param name="BestCheckpoint">Path of <c>best.pth</c>, or null when none was written.</param>
public sealed record TrainingResult(IReadOnlyList<EpochMetrics> Epochs, int CompletedEpochs, long GlobalStep, bool Interrupted,
    string? LastCheckpoint, string? BestCheckpoint);
