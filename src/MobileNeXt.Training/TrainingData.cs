using MobileNeXt.Training.Data;

namespace MobileNeXt.Training;

/// <summary>A training split and a validation split with the same classes.</summary>
/// <param name="Train">Training samples.</param>
/// <param name="Validation">Validation (or test) samples.</param>
/// <param name="Description">What was opened, for messages.</param>
public sealed record TrainingData(IImageDataset Train, IImageDataset Validation, string Description)
{
    /// <summary>
    /// What <see cref="Open"/> was given, normalised (a built-in name in lower case, a folder as an absolute path), so a
    /// checkpoint can reopen the same data on resume; null for data assembled in code. Default null.
    /// </summary>
    public string? Source { get; init; }

    /// <summary>The names <see cref="Open"/> accepts besides a folder.</summary>
    public const string Builtins = "fashion-mnist, synthetic";

    /// <summary>
    /// Opens <paramref name="source"/>: <c>fashion-mnist</c> (train/test from the Debian package's folder),
    /// <c>synthetic</c> (generated shapes: 2,000 training and 400 validation images of 10 classes), or a folder in ImageNet
    /// layout holding <c>train/</c> and <c>val/</c>, each with one sub-folder per class.
    /// </summary>
    /// <exception cref="FileNotFoundException"><c>fashion-mnist</c> and its files are not installed; the message says how to install them.</exception>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">The folder is empty, has no train/val split, a class without images, or the splits' classes differ; or a Fashion-MNIST file is not what it should be.</exception>
    public static TrainingData Open(string source, ImageFolderOptions? folderOptions = null, int syntheticImageSize = 64)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(source);
        switch (source.Trim().ToLowerInvariant())
        {
            case "fashion-mnist":
                return FashionMnist() with { Source = "fashion-mnist" };
            case "synthetic":
                return new(
                    new SyntheticShapesDataset(new SyntheticShapesOptions { Count = 2000, ImageSize = syntheticImageSize, Seed = 1 }),
                    new SyntheticShapesDataset(new SyntheticShapesOptions { Count = 400, ImageSize = syntheticImageSize, Seed = 2 }),
                    "synthetic shapes") { Source = "synthetic" };
        }
        string root = Path.GetFullPath(source);
        if (!Directory.Exists(root))
            throw new DirectoryNotFoundException($"Dataset folder '{root}' does not exist. Pass a folder holding train/ and val/ (ImageNet layout), or one of: {Builtins}.");
        string train = Path.Combine(root, "train"), val = Path.Combine(root, "val");
        if (!Directory.Exists(train) || !Directory.Exists(val))
            throw new InvalidDataException(
                $"Dataset folder '{root}' must hold train/ and val/ sub-folders, each with one folder per class (ImageNet layout: train/<class>/<image>).");
        var trainSet = new ImageFolderDataset(train, folderOptions);
        var valSet = new ImageFolderDataset(val, folderOptions);
        if (!trainSet.Classes.SequenceEqual(valSet.Classes))
            throw new InvalidDataException(
                $"train/ has {trainSet.Classes.Count} classes and val/ has {valSet.Classes.Count}, or their names differ; both need the same class folders.");
        return new(trainSet, valSet, $"'{root}'") { Source = root };
    }

    /// <summary>Fashion-MNIST: the 60,000 training images to train on and the 10,000 test images to validate on.</summary>
    /// <param name="directory">Folder of the four <c>*-idx?-ubyte.gz</c> files. Default <see cref="FashionMnistDataset.DebianDirectory"/>.</param>
    /// <exception cref="FileNotFoundException">A file is missing; the message names it and says how to install it.</exception>
    /// <exception cref="InvalidDataException">A file is not the IDX file it should be, or images and labels disagree.</exception>
    public static TrainingData FashionMnist(string? directory = null) =>
        new(new FashionMnistDataset(FashionMnistSplit.Train, directory), new FashionMnistDataset(FashionMnistSplit.Test, directory), "Fashion-MNIST");
}
