namespace MobileNeXt.Training.Data;

/// <summary>How <see cref="EpochSampler"/> orders and splits each epoch.</summary>
public sealed record EpochSamplerOptions
{
    /// <summary>Shuffle each epoch with a generator seeded from (<see cref="Seed"/>, epoch). Default <see langword="true"/>; <see langword="false"/> keeps dataset order (evaluation).</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>Seed of the shuffle; every rank must use the same one. Default 0.</summary>
    public int Seed { get; init; }

    /// <summary>This process's shard, 0 ≤ Rank &lt; WorldSize. Default 0.</summary>
    public int Rank { get; init; }

    /// <summary>Number of shards (processes) the epoch is split into. Default 1.</summary>
    public int WorldSize { get; init; } = 1;

    /// <summary>Throws an <see cref="ArgumentOutOfRangeException"/> naming the first invalid value and what to use instead.</summary>
    public void Validate()
    {
        if (WorldSize < 1)
            throw new ArgumentOutOfRangeException(nameof(WorldSize), WorldSize, $"WorldSize must be at least 1 (the number of processes); got {WorldSize}.");
        if (Rank < 0 || Rank >= WorldSize)
            throw new ArgumentOutOfRangeException(nameof(Rank), Rank, $"Rank must lie in [0, {WorldSize - 1}] for WorldSize {WorldSize}; got {Rank}.");
    }
}

/// <summary>
/// The sample order of each epoch, and this rank's share of it. Unlike TorchSharp's shuffling DataLoader, which
/// re-creates <c>Random(seed)</c> and so repeats one order every epoch, the permutation is drawn from (seed, epoch):
/// new each epoch, identical on every rank and every run. Shards are PyTorch DistributedSampler's interleaving
/// (<c>order[rank::worldSize]</c>) without its padding, so they are disjoint and together cover the epoch exactly;
/// their sizes differ by at most one (see <see cref="MinShardSize"/>).
/// </summary>
public sealed class EpochSampler
{
    /// <summary>Creates a sampler over <paramref name="datasetSize"/> samples.</summary>
    public EpochSampler(int datasetSize, EpochSamplerOptions? options = null)
    {
        Options = options ?? new EpochSamplerOptions();
        Options.Validate();
        if (datasetSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(datasetSize), datasetSize, "The dataset is empty; there is nothing to sample.");
        if (datasetSize < Options.WorldSize)
            throw new ArgumentOutOfRangeException(nameof(datasetSize), datasetSize,
                $"{datasetSize} samples cannot give each of {Options.WorldSize} ranks at least one; use fewer processes or more data.");
        DatasetSize = datasetSize;
    }

    /// <summary>The settings in use.</summary>
    public EpochSamplerOptions Options { get; }

    /// <summary>Samples in the whole epoch (all ranks).</summary>
    public int DatasetSize { get; }

    /// <summary>Samples in this rank's shard: ⌈(N − rank) / W⌉.</summary>
    public int ShardSize => (DatasetSize - Options.Rank + Options.WorldSize - 1) / Options.WorldSize;

    /// <summary>Samples in the smallest shard, ⌊N / W⌋: the number every rank can process in lock-step.</summary>
    public int MinShardSize => DatasetSize / Options.WorldSize;

    /// <summary>The whole epoch's order: a permutation of 0…N−1 drawn from (seed, epoch), or 0…N−1 without shuffling.</summary>
    public int[] EpochOrder(int epoch)
    {
        var order = Enumerable.Range(0, DatasetSize).ToArray();
        if (Options.Shuffle)
        {
            var rng = SeedMixer.CreateRandom(Options.Seed, epoch); // two parts: apart from the loader's (seed, epoch, index) streams
            for (int i = order.Length - 1; i > 0; i--) // Fisher–Yates
            {
                int k = rng.Next(i + 1);
                (order[i], order[k]) = (order[k], order[i]);
            }
        }
        return order;
    }

    /// <summary>This rank's sample indices for <paramref name="epoch"/>: positions rank, rank + W, rank + 2W, … of <see cref="EpochOrder"/>.</summary>
    public int[] ShardIndices(int epoch)
    {
        var order = EpochOrder(epoch);
        var shard = new int[ShardSize];
        for (int i = 0; i < shard.Length; i++)
            shard[i] = order[Options.Rank + i * Options.WorldSize];
        return shard;
    }
}
