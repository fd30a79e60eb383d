using MobileNeXt.Inference;
using SkiaSharp;

namespace MobileNeXt.Training.Data;

/// <summary>Which half of Fashion-MNIST to read.</summary>
public enum FashionMnistSplit
{
    /// <summary>The 60,000 training images (<c>train-*</c>).</summary>
    Train,

    /// <summary>The 10,000 test images (<c>t10k-*</c>).</summary>
    Test,
}

/// <summary>
/// Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): 28×28 greyscale clothing images in 10 classes, read from the gzipped
/// IDX files of the Debian package <c>dataset-fashion-mnist</c>. Images come out as RGB (grey copied to every channel),
/// so the same transforms and models apply as for colour data.
/// </summary>
public sealed class FashionMnistDataset : IImageDataset
{
    /// <summary>Where the Debian package <c>dataset-fashion-mnist</c> installs the files.</summary>
    public const string DebianDirectory = "/usr/share/datasets/fashion-mnist";

    private readonly IdxImages _images;
    private readonly byte[] _labels;

    /// <summary>Loads one split into memory (47 MB for the training split).</summary>
    /// <param name="split">Training or test images.</param>
    /// <param name="directory">Folder of the four <c>*-idx?-ubyte.gz</c> files. Default <see cref="DebianDirectory"/>.</param>
    /// <exception cref="FileNotFoundException">The files are missing; the message says how to install them.</exception>
    /// <exception cref="InvalidDataException">A file is not the IDX file it should be, or images and labels disagree.</exception>
    public FashionMnistDataset(FashionMnistSplit split = FashionMnistSplit.Train, string? directory = null)
    {
        Folder = directory ?? DebianDirectory;
        Split = split;
        string prefix = split == FashionMnistSplit.Train ? "train" : "t10k";
        string imagesPath = Locate(Folder, $"{prefix}-images-idx3-ubyte");
        string labelsPath = Locate(Folder, $"{prefix}-labels-idx1-ubyte");
        _images = IdxReader.ReadImages(imagesPath);
        _labels = IdxReader.ReadLabels(labelsPath);
        if (_images.Count != _labels.Length)
            throw new InvalidDataException($"'{imagesPath}' holds {_images.Count} images but '{labelsPath}' holds {_labels.Length} labels; reinstall the dataset.");
        for (int i = 0; i < _labels.Length; i++)
            if (_labels[i] >= ClassNames.Count)
                throw new InvalidDataException($"'{labelsPath}': label {_labels[i]} at position {i} is not one of the 10 Fashion-MNIST classes; reinstall the dataset.");
    }

    /// <summary>The ten class names in label order (Fashion-MNIST README).</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>The folder the files were read from.</summary>
    public string Folder { get; }

    /// <summary>The split read.</summary>
    public FashionMnistSplit Split { get; }

    /// <summary>Rows of every image (28).</summary>
    public int Height => _images.Rows;

    /// <summary>Columns of every image (28).</summary>
    public int Width => _images.Columns;

    /// <inheritdoc />
    public int Count => _labels.Length;

    /// <inheritdoc />
    public IReadOnlyList<string> Classes => ClassNames;

    /// <inheritdoc />
    public int GetLabel(int index) => _labels[index];

    /// <summary>The raw 8-bit grey pixels of image <paramref name="index"/>, row-major.</summary>
    public ReadOnlySpan<byte> GetPixels(int index)
    {
        int per = _images.Rows * _images.Columns;
        return _images.Pixels.AsSpan(checked(index * per), per);
    }

    /// <inheritdoc />
    public SKBitmap LoadImage(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return ImageDecoding.FromGrey(GetPixels(index), _images.Columns, _images.Rows);
    }

    private static string Locate(string directory, string stem)
    {
        foreach (var candidate in new[] { stem + ".gz", stem })
        {
            var path = Path.Combine(directory, candidate);
            if (File.Exists(path))
                return path;
        }
        throw new FileNotFoundException(
            $"Fashion-MNIST file '{Path.Combine(directory, stem + ".gz")}' was not found. " +
            (directory == DebianDirectory
                ? "Install it with: sudo apt-get install dataset-fashion-mnist"
                : $"Put the four Fashion-MNIST IDX files in '{directory}', or install them with: sudo apt-get install dataset-fashion-mnist (files go to {DebianDirectory})."),
            Path.Combine(directory, stem + ".gz"));
    }
}
