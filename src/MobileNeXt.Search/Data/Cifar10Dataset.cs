using MobileNeXt.Inference;
using MobileNeXt.Training.Data;
using SkiaSharp;

namespace MobileNeXt.Search.Data;

/// <summary>Which CIFAR-10 files to read.</summary>
public enum Cifar10Split
{
    /// <summary>The 50,000 training images (<c>data_batch_1.bin</c> … <c>data_batch_5.bin</c>).</summary>
    Train,

    /// <summary>The 10,000 test images (<c>test_batch.bin</c>).</summary>
    Test,
}

/// <summary>
/// CIFAR-10 (Krizhevsky, 2009) from its binary version (<c>cifar-10-batches-bin</c>): every record is one label byte
/// (0–9) followed by 3,072 pixel bytes — the 32×32 red plane, then green, then blue, each row-major. DARTS searches and
/// evaluates on it (Liu et al. 2018, Sec. 3), so with these files Table 9's setting runs as published.
/// </summary>
public sealed class Cifar10Dataset : IImageDataset
{
    /// <summary>Image side in pixels.</summary>
    public const int Side = 32;

    /// <summary>Bytes of one record: a label and three 32×32 planes.</summary>
    public const int RecordBytes = 1 + 3 * Side * Side;

    private readonly byte[] _records;

    /// <summary>Loads a split into memory (154 MB for the training split).</summary>
    /// <param name="directory">The folder holding the <c>.bin</c> files (the archive's <c>cifar-10-batches-bin</c>).</param>
    /// <param name="split">Training or test files.</param>
    /// <exception cref="FileNotFoundException">A file is missing; the message names it and where to get it.</exception>
    /// <exception cref="InvalidDataException">A file is not a whole number of records, or a label is not 0–9.</exception>
    public Cifar10Dataset(string directory, Cifar10Split split = Cifar10Split.Train)
    {
        ArgumentNullException.ThrowIfNull(directory);
        Split = split;
        string[] names = split == Cifar10Split.Train
            ? [.. Enumerable.Range(1, 5).Select(i => $"data_batch_{i}.bin")]
            : ["test_batch.bin"];
        using var all = new MemoryStream();
        foreach (var name in names)
        {
            var path = Path.Combine(directory, name);
            if (!File.Exists(path))
                throw new FileNotFoundException(
                    $"CIFAR-10 file '{path}' was not found. Download the binary version (cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html) and pass its cifar-10-batches-bin folder.", path);
            var bytes = File.ReadAllBytes(path);
            if (bytes.Length == 0 || bytes.Length % RecordBytes != 0)
                throw new InvalidDataException($"'{path}' holds {bytes.Length} bytes, not a whole number of {RecordBytes}-byte CIFAR-10 records; is it the binary (not the Python) version?");
            for (long offset = 0; offset < bytes.Length; offset += RecordBytes)
                if (bytes[offset] >= ClassNames.Count)
                    throw new InvalidDataException($"'{path}': record {offset / RecordBytes} has label {bytes[offset]}, not one of CIFAR-10's 10 classes.");
            all.Write(bytes);
        }
        _records = all.ToArray();
    }

    /// <summary>The ten class names in label order (<c>batches.meta.txt</c>).</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>The split read.</summary>
    public Cifar10Split Split { get; }

    /// <inheritdoc />
    public int Count => _records.Length / RecordBytes;

    /// <inheritdoc />
    public IReadOnlyList<string> Classes => ClassNames;

    /// <inheritdoc />
    public int GetLabel(int index) => _records[Offset(index)];

    /// <inheritdoc />
    public SKBitmap LoadImage(int index)
    {
        var pixels = _records.AsSpan(Offset(index) + 1, RecordBytes - 1);
        const int plane = Side * Side;
        return ImageDecoding.FromPlanes(pixels[..plane], pixels.Slice(plane, plane), pixels.Slice(2 * plane, plane), Side, Side);
    }

    private int Offset(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return index * RecordBytes;
    }
}
