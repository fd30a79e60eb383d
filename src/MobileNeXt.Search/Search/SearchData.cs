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

    private static IEnumerable<(Tensor Images, Tensor Labels)> Read(ReadAheadLoader loader, int epoch)
    {
        foreach (var batch in loader.ReadEpoch(epoch))
        {
            using var b = batch;
            yield return (b.Images, b.Labels);
        }
    }
}
