namespace MobileNeXt.Search.Search;

/// <summary>One step of a search epoch, for progress reports.</summary>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="Step">0-based step within the epoch.</param>
/// <param name="Loss">Cross-entropy of this step's training batch.</param>
/// <param name="RunningLoss">Mean cross-entropy of the epoch's batches so far.</param>
public sealed record SearchStep(int Epoch, int Step, double Loss, double RunningLoss);
