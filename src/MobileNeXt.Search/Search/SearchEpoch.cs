using MobileNeXt.Search.Network;

namespace MobileNeXt.Search.Search;

/// <summary>What one search epoch did.</summary>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="LearningRate">The weights' learning rate (and the unrolled step's ξ).</param>
/// <param name="Steps">Steps run.</param>
/// <param name="TrainLoss">Mean cross-entropy of the weight steps' batches.</param>
/// <param name="TrainAccuracy">Top-1 accuracy on those batches, before each step.</param>
/// <param name="Genotype">The cell derived from α at the end of the epoch.</param>
public sealed record SearchEpoch(int Epoch, double LearningRate, int Steps, double TrainLoss, double TrainAccuracy, Genotype Genotype);
