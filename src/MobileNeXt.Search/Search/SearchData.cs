using MobileNeXt.Inference;
using MobileNeXt.Training.Data;
using static TorchSharp.torch;

namespace MobileNeXt.Search.Search;

/// <summary>Turns a labelled image dataset into the search's two halves and their batches.</summary>
public static class SearchData
{
    /// <summary>
    /// Splits <paramref name="dataset"/> as DARTS does (<c>train_search.py</c>: <c>indices[:split]</c> train the weights,
    /// <c>indices[split:]</c> train α, <c>split = ⌊portion · n⌋</c>, in file order; each half is then shuffled per epoch).
    /// </summary>
    /// <exception cref="ArgumentException">A half would be empty.</exception>
    public static (IImageDataset Weights, IImageDataset Architecture) Split(IImageDataset dataset, double portion = 0.5)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        int split = (int)Math.Floor(portion * dataset.Count);
        if (split < 1 || split >= dataset.Count)
            throw new ArgumentException($"Splitting {dataset.Count} samples at portion {portion} leaves a half empty; use a portion in (0, 1) and at least 2 samples.", nameof(portion));
        return (new SubsetDataset(dataset, [.. Enumerable.Range(0, split)]),
                new SubsetDataset(dataset, [.. Enumerable.Range(split, dataset.Count - split)]));
    }

    /// <summary>
    /// The batches of <paramref name="dataset"/> for a given epoch number, shuffled by <paramref name="seed"/> and the
    /// epoch and read ahead by Training's loader; each batch's tensors live until the next one is read.
    /// </summary>
    public static Func<int, IEnumerable<(Tensor Images, Tensor Labels)>> Batches(IImageDataset dataset, ISampleTransform transform, int batchSize, int seed, int workers = 2)
    {
        var loader = new ReadAheadLoader(dataset, transform,
            new EpochSampler(dataset.Count, new EpochSamplerOptions { Shuffle = true, Seed = seed }),
            new ReadAheadLoaderOptions { BatchSize = batchSize, Workers = workers, Seed = seed });
        return epoch => Read(loader, epoch);
    }

    /// <summary>
    /// A random batch of <paramref name="dataset"/> for each (epoch, step): <paramref name="batchSize"/> distinct samples
    /// drawn afresh every step, as DARTS's architecture step takes <c>next(iter(valid_queue))</c> — the first batch of a
    /// new random permutation of the validation half — at every step ("get a random minibatch from the search queue with
    /// replacement", quark0/darts <c>cnn/train_search.py</c>). The draw and each sample's augmentation depend only on
    /// (seed, epoch, step), so a resumed search sees the same batches.
    /// </summary>
    /// <exception cref="ArgumentException">The batch is larger than the dataset.</exception>
    public static Func<int, int, (Tensor Images, Tensor Labels)> RandomBatch(IImageDataset dataset, ISampleTransform transform, int batchSize, int seed)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(transform);
        if (batchSize < 1 || batchSize > dataset.Count)
            throw new ArgumentException($"A random batch of {batchSize} needs between 1 and {dataset.Count} samples (the validation half's size).", nameof(batchSize));
        return (epoch, step) =>
        {
            var rng = SeedMixer.CreateRandom(seed, epoch, step);
            // the first batchSize entries of a random permutation (partial Fisher–Yates)
            var order = Enumerable.Range(0, dataset.Count).ToArray();
            for (int i = 0; i < batchSize; i++)
            {
                int j = rng.Next(i, order.Length);
                (order[i], order[j]) = (order[j], order[i]);
            }
            int per = 3 * transform.OutputHeight * transform.OutputWidth;
            var images = new float[batchSize * per];
            var labels = new long[batchSize];
            for (int i = 0; i < batchSize; i++)
            {
                int index = order[i];
                using var image = dataset.LoadImage(index)
                    ?? throw new InvalidDataException($"Sample {index} of the validation half could not be read.");
                transform.Apply(image, SeedMixer.CreateRandom(seed, epoch, step, index), images.AsSpan(i * per, per));
                labels[i] = dataset.GetLabel(index);
            }
            return (tensor(images, [batchSize, 3, transform.OutputHeight, transform.OutputWidth]), tensor(labels, [batchSize]));
        };
    }

    private static IEnumerable<(Tensor Images, Tensor Labels)> Read(ReadAheadLoader loader, int epoch)
    {
        foreach (var batch in loader.ReadEpoch(epoch))
        {
            using var b = batch;
            yield return (b.Images, b.Labels);
        }
    }
}
