using System.Buffers.Binary;
using System.IO.Compression;

namespace MobileNeXt.Training.Data;

/// <summary>Images of an IDX file: <see cref="Count"/> row-major <see cref="Rows"/>×<see cref="Columns"/> 8-bit images, back to back.</summary>
/// <param name="Count">Number of images.</param>
/// <param name="Rows">Rows per image.</param>
/// <param name="Columns">Columns per image.</param>
/// <param name="Pixels">Count·Rows·Columns bytes.</param>
public sealed record IdxImages(int Count, int Rows, int Columns, byte[] Pixels);

/// <summary>
/// Reads the IDX files of MNIST and Fashion-MNIST (LeCun et al., http://yann.lecun.com/exdb/mnist/): a big-endian
/// header — magic <c>0x00000803</c> (unsigned bytes, 3 dimensions) for images, <c>0x00000801</c> for labels — then the
/// sizes as big-endian int32, then the data. Gzipped files (magic 1F 8B) are decompressed on the fly.
/// </summary>
public static class IdxReader
{
    /// <summary>Magic number of an unsigned-byte, three-dimensional IDX file (images).</summary>
    public const int ImagesMagic = 0x0803;

    /// <summary>Magic number of an unsigned-byte, one-dimensional IDX file (labels).</summary>
    public const int LabelsMagic = 0x0801;

    /// <summary>Reads an image file (plain or gzipped).</summary>
    /// <exception cref="InvalidDataException">Wrong magic number, bad sizes, or a truncated file.</exception>
    public static IdxImages ReadImages(string path) => WithFile(path, s => ReadImages(s, path));

    /// <summary>Reads a label file (plain or gzipped).</summary>
    /// <exception cref="InvalidDataException">Wrong magic number, bad sizes, or a truncated file.</exception>
    public static byte[] ReadLabels(string path) => WithFile(path, s => ReadLabels(s, path));

    /// <summary>Reads images from an uncompressed IDX stream; <paramref name="name"/> appears in error messages.</summary>
    public static IdxImages ReadImages(Stream stream, string name = "IDX stream")
    {
        ArgumentNullException.ThrowIfNull(stream);
        Span<byte> header = stackalloc byte[16];
        ReadExactly(stream, header[..4], name, "the magic number");
        CheckMagic(BinaryPrimitives.ReadInt32BigEndian(header), ImagesMagic, name, "an image file", "labels");
        ReadExactly(stream, header[4..], name, "the image sizes");
        int count = BinaryPrimitives.ReadInt32BigEndian(header[4..]);
        int rows = BinaryPrimitives.ReadInt32BigEndian(header[8..]);
        int cols = BinaryPrimitives.ReadInt32BigEndian(header[12..]);
        if (count < 0 || rows <= 0 || cols <= 0 || (long)count * rows * cols > Array.MaxLength)
            throw new InvalidDataException($"{name}: implausible image sizes {count}×{rows}×{cols} in the header; the file is corrupt.");
        var pixels = new byte[count * rows * cols];
        ReadExactly(stream, pixels, name, $"{count} images of {rows}×{cols} pixels");
        return new IdxImages(count, rows, cols, pixels);
    }

    /// <summary>Reads labels from an uncompressed IDX stream; <paramref name="name"/> appears in error messages.</summary>
    public static byte[] ReadLabels(Stream stream, string name = "IDX stream")
    {
        ArgumentNullException.ThrowIfNull(stream);
        Span<byte> header = stackalloc byte[8];
        ReadExactly(stream, header[..4], name, "the magic number");
        CheckMagic(BinaryPrimitives.ReadInt32BigEndian(header), LabelsMagic, name, "a label file", "images");
        ReadExactly(stream, header[4..], name, "the label count");
        int count = BinaryPrimitives.ReadInt32BigEndian(header[4..]);
        if (count < 0)
            throw new InvalidDataException($"{name}: negative label count {count} in the header; the file is corrupt.");
        var labels = new byte[count];
        ReadExactly(stream, labels, name, $"{count} labels");
        return labels;
    }

    private static T WithFile<T>(string path, Func<Stream, T> read)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"IDX file '{path}' does not exist.", path);
        using var file = File.OpenRead(path);
        int b0 = file.ReadByte(), b1 = file.ReadByte();
        file.Position = 0;
        if (b0 == 0x1F && b1 == 0x8B)
        {
            using var gz = new GZipStream(file, CompressionMode.Decompress);
            using var buffered = new BufferedStream(gz, 1 << 16);
            return read(buffered);
        }
        return read(file);
    }

    private static void CheckMagic(int magic, int expected, string name, string what, string otherKind)
    {
        if (magic == expected)
            return;
        var hint = magic == (expected == ImagesMagic ? LabelsMagic : ImagesMagic)
            ? $" It holds {otherKind}; check that the image and label file names are not swapped."
            : " It is not an unsigned-byte IDX file of the expected kind (or it is compressed in a format other than gzip).";
        throw new InvalidDataException($"{name}: magic number 0x{magic:X8}, expected 0x{expected:X8} for {what}.{hint}");
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string name, string what)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = stream.Read(buffer[total..]);
            if (n == 0)
                throw new InvalidDataException($"{name}: the file ends after {total} of the {buffer.Length} bytes of {what}; it is truncated. Download or reinstall it.");
            total += n;
        }
    }
}
