using MobileNeXt.Inference;
using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using static TorchSharp.torch;

namespace MobileNeXt.Training.Data;

/// <summary>
/// Decodes and augments batches on worker threads ahead of the training loop, through bounded channels, and hands
/// them out in a fixed order. TorchSharp's DataLoader builds each batch only when asked (no overlap with the step);
/// this one keeps every worker busy while the model trains.
/// </summary>
/// <remarks>
/// <para>Order and content depend only on (sampler seed, loader seed, epoch), never on <see cref="ReadAheadLoaderOptions.Workers"/>
/// or timing: batch <c>b</c> holds positions <c>b·B … b·B+B−1</c> of <see cref="EpochSampler.ShardIndices"/>, it is built by
/// worker <c>(b − first) mod W</c> (PyTorch DataLoader's round-robin), and sample <c>i</c> is augmented with its own
/// <c>Random(mix(seed, epoch, i))</c>.</para>
/// <para>Memory is bounded: each worker holds at most <see cref="ReadAheadLoaderOptions.PrefetchPerWorker"/> finished batches
/// plus the one it is building, as managed float arrays that are reused from batch to batch; tensors are made on the consumer's
/// thread when a batch is handed out.</para>
/// <para>A sample the dataset skips (<see cref="IImageDataset.LoadImage"/> returns null) is left out of its batch, which is then one row
/// smaller; a batch left with no rows is not yielded. Any other exception of a worker is rethrown to the consumer.</para>
/// <para>Batch size: with <see cref="ReadAheadLoaderOptions.DropLast"/> a batch larger than the smallest shard is an error (the epoch
/// would be empty); without it, it is allowed and the epoch is one partial batch (handy for small evaluation sets).</para>
/// </remarks>
public sealed class ReadAheadLoader
{
    private readonly IImageDataset _dataset;
    private readonly ISampleTransform _transform;
    private readonly EpochSampler _sampler;
    // A batch's floats (19 MB at 32×3×224²) live in the large-object heap: allocating them for every batch cost a full
    // collection about once a batch, so the arrays go back to this pool once copied into their tensor, and the pool
    // outlives the epoch (short epochs would otherwise allocate workers × (prefetch + 1) arrays anew each time).
    private readonly ConcurrentBag<float[]> _buffers = new();

    /// <summary>Creates a loader of <paramref name="dataset"/> through <paramref name="transform"/> in <paramref name="sampler"/>'s order.</summary>
    /// <exception cref="ArgumentException">The sampler does not match the dataset, or the batch size cannot give a batch.</exception>
    public ReadAheadLoader(IImageDataset dataset, ISampleTransform transform, EpochSampler sampler, ReadAheadLoaderOptions? options = null)
    {
        _dataset = dataset ?? throw new ArgumentNullException(nameof(dataset));
        _transform = transform ?? throw new ArgumentNullException(nameof(transform));
        _sampler = sampler ?? throw new ArgumentNullException(nameof(sampler));
        Options = options ?? new ReadAheadLoaderOptions();
        Options.Validate();
        if (sampler.DatasetSize != dataset.Count)
            throw new ArgumentException(
                $"The sampler covers {sampler.DatasetSize} samples but the dataset has {dataset.Count}; create the sampler with new EpochSampler(dataset.Count, …).", nameof(sampler));
        int batch = Options.BatchSize;
        if (Options.DropLast)
        {
            if (batch > sampler.MinShardSize)
                throw new ArgumentException(
                    $"BatchSize {batch} is larger than the {sampler.MinShardSize} samples per rank " +
                    $"({sampler.DatasetSize} samples / {sampler.Options.WorldSize} ranks), so with DropLast every epoch would be empty. " +
                    "Use a smaller batch size, or DropLast = false to get one partial batch.", nameof(options));
            BatchesPerEpoch = sampler.MinShardSize / batch;
        }
        else
        {
            BatchesPerEpoch = (sampler.ShardSize + batch - 1) / batch;
        }
    }

    /// <summary>The settings in use.</summary>
    public ReadAheadLoaderOptions Options { get; }

    /// <summary>Batches this rank yields per epoch (fewer only if the dataset skips every sample of a batch).</summary>
    public int BatchesPerEpoch { get; }

    /// <summary>
    /// The batches of <paramref name="epoch"/>. Workers start on the first <c>MoveNext</c> and stop when the enumeration
    /// ends or is disposed (e.g. <c>break</c>). Each batch belongs to the caller, who disposes it.
    /// </summary>
    public IEnumerable<ImageBatch> ReadEpoch(int epoch, CancellationToken cancellationToken = default) =>
        ReadEpoch(epoch, 0, cancellationToken);

    /// <summary>
    /// The batches of <paramref name="epoch"/> from batch <paramref name="firstBatch"/> on, without decoding the ones
    /// before it (a run resumed mid-epoch): each is identical to the same batch of a whole-epoch read.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="firstBatch"/> is negative or greater than <see cref="BatchesPerEpoch"/> (equal yields nothing).</exception>
    public IEnumerable<ImageBatch> ReadEpoch(int epoch, int firstBatch, CancellationToken cancellationToken = default)
    {
        if (firstBatch < 0 || firstBatch > BatchesPerEpoch)
            throw new ArgumentOutOfRangeException(nameof(firstBatch), firstBatch, $"The first batch must lie in 0 … {BatchesPerEpoch} (the batches per epoch).");
        return Batches(epoch, firstBatch, cancellationToken);
    }

    private IEnumerable<ImageBatch> Batches(int epoch, int firstBatch, CancellationToken cancellationToken)
    {
        TorchRuntime.EnsureAvailable(); // a one-sentence cause and fix instead of a TypeInitializationException from a worker
        var shard = _sampler.ShardIndices(epoch);
        int workers = Math.Min(Options.Workers, Math.Max(1, BatchesPerEpoch - firstBatch));
        int h = _transform.OutputHeight, w = _transform.OutputWidth;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var channels = new Channel<BatchData>[workers];
        var tasks = new Task[workers];
        for (int k = 0; k < workers; k++)
        {
            channels[k] = Channel.CreateBounded<BatchData>(new BoundedChannelOptions(Options.PrefetchPerWorker)
            {
                SingleReader = true,
                SingleWriter = true,
                FullMode = BoundedChannelFullMode.Wait,
            });
            int worker = k;
            // Dedicated threads: decoding is CPU-bound and blocks, and must not starve the thread pool.
            tasks[k] = Task.Factory.StartNew(() => RunWorker(firstBatch + worker, workers, epoch, shard, channels[worker].Writer, cts.Token),
                cts.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
        try
        {
            for (int b = firstBatch; b < BatchesPerEpoch; b++)
            {
                var data = Read(channels[(b - firstBatch) % workers].Reader, cts.Token);
                if (data.Indices.Length == 0)
                    continue;
                int n = data.Indices.Length;
                // One copy into libtorch's memory; torch.tensor(float[]) would clone the array into another pinned 19 MB.
                var images = empty([n, 3, h, w], ScalarType.Float32);
                using (NewDisposeScope()) // storage<T>() makes a tensor handle of its own
                    Marshal.Copy(data.Images, 0, images.storage<float>().data_ptr(), n * 3 * h * w);
                _buffers.Add(data.Images);
                yield return new ImageBatch(epoch, b, images, tensor(data.Labels, [n]), data.Indices);
            }
        }
        finally
        {
            cts.Cancel();
            try { Task.WaitAll(tasks); } catch (AggregateException) { } // cancellation or an error already reported
        }
    }

    private static BatchData Read(ChannelReader<BatchData> reader, CancellationToken token)
    {
        try
        {
            return reader.ReadAsync(token).AsTask().GetAwaiter().GetResult();
        }
        catch (ChannelClosedException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw; // unreachable
        }
    }

    /// <summary>Builds batches <paramref name="firstOwn"/>, firstOwn + <paramref name="workers"/>, … of the epoch.</summary>
    private void RunWorker(int firstOwn, int workers, int epoch, int[] shard, ChannelWriter<BatchData> writer, CancellationToken token)
    {
        try
        {
            int batch = Options.BatchSize, per = 3 * _transform.OutputHeight * _transform.OutputWidth;
            for (int b = firstOwn; b < BatchesPerEpoch; b += workers)
            {
                int start = b * batch, size = Math.Min(batch, shard.Length - start);
                var images = _buffers.TryTake(out var reused) ? reused : new float[batch * per];
                var labels = new long[size];
                var kept = new List<int>(size);
                for (int s = 0; s < size; s++)
                {
                    token.ThrowIfCancellationRequested();
                    int index = shard[start + s];
                    using var image = _dataset.LoadImage(index);
                    if (image is null)
                        continue;
                    _transform.Apply(image, SeedMixer.CreateRandom(Options.Seed, epoch, index), images.AsSpan(kept.Count * per, per));
                    labels[kept.Count] = _dataset.GetLabel(index);
                    kept.Add(index);
                }
                var data = new BatchData(images, kept.Count == size ? labels : labels[..kept.Count], [.. kept]);
                writer.WriteAsync(data, token).AsTask().GetAwaiter().GetResult();
            }
            writer.TryComplete();
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            writer.TryComplete();
        }
        catch (Exception e)
        {
            writer.TryComplete(e);
        }
    }

    private sealed record BatchData(float[] Images, long[] Labels, int[] Indices);
}
