namespace MobileNeXt.Training.Data;

/// <summary>How <see cref="ReadAheadLoader"/> batches and how far it reads ahead.</summary>
public sealed record ReadAheadLoaderOptions
{
    /// <summary>Samples per batch (per rank). Default 32.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>
    /// Worker threads that decode and augment. Default 2 (this machine's core count). Output does not depend on it.
    /// Leave room for libtorch's own threads (<c>torch.set_num_threads</c>) so the two do not oversubscribe the cores.
    /// </summary>
    public int Workers { get; init; } = 2;

    /// <summary>Finished batches each worker may hold ahead of the consumer (its channel's capacity). Default 2, as PyTorch's prefetch_factor.</summary>
    public int PrefetchPerWorker { get; init; } = 2;

    /// <summary>
    /// Drop the last, incomplete batch. Default <see langword="false"/>. With <see langword="true"/> every rank yields
    /// exactly ⌊<see cref="EpochSampler.MinShardSize"/> / BatchSize⌋ full batches, which keeps distributed ranks in
    /// lock-step; use it for training.
    /// </summary>
    public bool DropLast { get; init; }

    /// <summary>Seed of the augmentation: sample <c>i</c> of epoch <c>e</c> is transformed with <c>Random(mix(Seed, e, i))</c>. Default 0.</summary>
    public int Seed { get; init; }

    /// <summary>Throws an <see cref="ArgumentOutOfRangeException"/> naming the first invalid value and what to use instead.</summary>
    public void Validate()
    {
        if (BatchSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, $"BatchSize must be positive; got {BatchSize}.");
        if (Workers <= 0)
            throw new ArgumentOutOfRangeException(nameof(Workers), Workers, $"Workers must be at least 1 (e.g. the number of cores); got {Workers}.");
        if (PrefetchPerWorker <= 0)
            throw new ArgumentOutOfRangeException(nameof(PrefetchPerWorker), PrefetchPerWorker, $"PrefetchPerWorker must be at least 1 (2 is usual); got {PrefetchPerWorker}.");
    }
}
