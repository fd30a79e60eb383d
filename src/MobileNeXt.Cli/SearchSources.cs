using MobileNeXt.Inference;
using MobileNeXt.Search.Data;
using MobileNeXt.Search.Network;
using MobileNeXt.Training.Data;

namespace MobileNeXt.Cli;

/// <summary>The image sets <c>mobilenext search</c> and <c>train --genotype</c> read: 32² (or centred on 32²) with 10 classes.</summary>
internal static class SearchSources
{
    /// <summary>The sources, for help and error messages.</summary>
    public const string Names = "fashion-mnist, cifar10:<dir>, synthetic";

    /// <summary>The training and test images of <paramref name="source"/> and the channel statistics to normalise them by.</summary>
    /// <exception cref="ArgumentException">Not one of <see cref="Names"/>.</exception>
    /// <exception cref="DirectoryNotFoundException">The CIFAR-10 folder does not exist.</exception>
    public static (IImageDataset Train, IImageDataset Test, NormalizationStatistics Normalization) Open(string source)
    {
        string s = source.Trim();
        if (s.Equals("fashion-mnist", StringComparison.OrdinalIgnoreCase))
            return (new FashionMnistDataset(FashionMnistSplit.Train), new FashionMnistDataset(FashionMnistSplit.Test), DartsAugmentationOptions.FashionMnistStatistics);
        if (s.Equals("synthetic", StringComparison.OrdinalIgnoreCase))
            return (new SyntheticShapesDataset(new SyntheticShapesOptions { Count = 2000, ImageSize = 32, Seed = 1 }),
                    new SyntheticShapesDataset(new SyntheticShapesOptions { Count = 400, ImageSize = 32, Seed = 2 }),
                    NormalizationStatistics.Identity);
        if (s.StartsWith("cifar10:", StringComparison.OrdinalIgnoreCase))
        {
            string dir = s["cifar10:".Length..];
            if (dir.Length == 0) throw new ArgumentException("--data cifar10: needs the folder after the colon, e.g. cifar10:data/cifar-10-batches-bin.");
            if (!Directory.Exists(dir))
                throw new DirectoryNotFoundException($"CIFAR-10 folder '{Path.GetFullPath(dir)}' does not exist. Download cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html, unpack it and pass cifar10:<its cifar-10-batches-bin folder>.");
            return (new Cifar10Dataset(dir, Cifar10Split.Train), new Cifar10Dataset(dir, Cifar10Split.Test), DartsAugmentationOptions.Cifar10Statistics);
        }
        throw new ArgumentException($"--data '{source}' is not a search source; use one of: {Names}.");
    }

    /// <summary>The genotype in <paramref name="file"/> (a 'mobilenext search' genotype.json), or DARTS's published cell for <c>DARTS_V2</c>.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">The file is not a genotype; the message names it.</exception>
    public static Genotype LoadGenotype(string file)
    {
        if (file.Equals("DARTS_V2", StringComparison.OrdinalIgnoreCase)) return Genotype.DartsV2;
        if (!File.Exists(file))
            throw new FileNotFoundException($"Genotype file '{Path.GetFullPath(file)}' does not exist; pass the genotype.json a 'mobilenext search' wrote, or DARTS_V2.");
        try { return Genotype.Load(file); }
        catch (InvalidDataException ex) { throw new InvalidDataException($"'{file}': {ex.Message}", ex); }
    }

    /// <summary>The first <paramref name="limit"/> images of <paramref name="images"/>, or all without a limit.</summary>
    /// <exception cref="ArgumentException">The limit is below 2 or above the set's size.</exception>
    public static IImageDataset Limit(IImageDataset images, int? limit, string option, string what)
    {
        if (limit is not { } n) return images;
        if (n < 2 || n > images.Count) throw new ArgumentException($"{option} must be between 2 and {images.Count} (the {what}); got {n}.");
        return new SubsetDataset(images, [.. Enumerable.Range(0, n)]);
    }
}

/// <summary>Hears each report synchronously, on the reporting thread (System's Progress posts to the thread pool, after the next epoch may have begun).</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
