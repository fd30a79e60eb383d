using SkiaSharp;

namespace MobileNeXt.Training.Data;

/// <summary>How <see cref="ImageFolderDataset"/> treats files it cannot decode.</summary>
public sealed record ImageFolderOptions
{
    /// <summary>What to do with a corrupt or non-image file. Default <see cref="CorruptImagePolicy.Skip"/>.</summary>
    public CorruptImagePolicy CorruptImages { get; init; } = CorruptImagePolicy.Skip;

    /// <summary>
    /// Open every file's header when the dataset is created, so files that are not images at all are left out of
    /// the index (and of <see cref="IImageDataset.Count"/>) or reported at once. Default <see langword="false"/>:
    /// like torchvision's ImageFolder, the index is built from file names alone (fast for a million files) and a bad
    /// file is found when it is first loaded.
    /// </summary>
    public bool VerifyOnScan { get; init; }

    /// <summary>Receives one line per skipped file (its path and the reason). Default: standard error.</summary>
    public Action<string> Log { get; init; } = line => Console.Error.WriteLine(line);
}
