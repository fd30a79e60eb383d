using MobileNeXt.Tests.Shared;
using System.Buffers.Binary;
using System.IO.Compression;
using MobileNeXt.Training.Data;

namespace MobileNeXt.Training.Tests.Data;

public class IdxReaderTests
{
    // Three 2×4 images with pixel value 10·image + position, and labels 7, 0, 9: small enough to check by hand.
    private static readonly byte[] Pixels = [.. Enumerable.Range(0, 3 * 2 * 4).Select(i => (byte)(10 * (i / 8) + i % 8))];
    private static readonly byte[] Labels = [7, 0, 9];

    /// <summary>An IDX file as the format defines it: big-endian magic, big-endian int32 sizes, then bytes.</summary>
    private static byte[] Idx(int magic, int[] sizes, byte[] data)
    {
        var bytes = new byte[4 + 4 * sizes.Length + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        for (int i = 0; i < sizes.Length; i++)
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), sizes[i]);
        data.CopyTo(bytes, 4 + 4 * sizes.Length);
        return bytes;
    }

    private static void WriteGz(string path, byte[] bytes)
    {
        using var file = File.Create(path);
        using var gz = new GZipStream(file, CompressionLevel.Fastest);
        gz.Write(bytes);
    }

    [Fact]
    public void Should_read_images_and_labels_from_plain_and_gzipped_files()
    {
        using var folder = new TempFolder();
        File.WriteAllBytes(folder.Combine("images"), Idx(0x803, [3, 2, 4], Pixels));
        WriteGz(folder.Combine("images.gz"), Idx(0x803, [3, 2, 4], Pixels));
        WriteGz(folder.Combine("labels.gz"), Idx(0x801, [3], Labels));
        foreach (var name in new[] { "images", "images.gz" })
        {
            var images = IdxReader.ReadImages(folder.Combine(name));
            (images.Count, images.Rows, images.Columns).Should().Be((3, 2, 4));
            images.Pixels.Should().Equal(Pixels);
        }
        IdxReader.ReadLabels(folder.Combine("labels.gz")).Should().Equal(Labels);
    }

    [Fact]
    public void Should_say_when_image_and_label_files_are_swapped()
    {
        var labels = Idx(0x801, [3], Labels);
        var act = () => IdxReader.ReadImages(new MemoryStream(labels), "labels.idx");
        act.Should().Throw<InvalidDataException>().WithMessage("labels.idx: magic number 0x00000801, expected 0x00000803*swapped*");
    }

    [Fact]
    public void Should_reject_a_file_that_is_not_idx()
    {
        var act = () => IdxReader.ReadLabels(new MemoryStream("PK\u0003\u0004 a zip file"u8.ToArray()), "x");
        act.Should().Throw<InvalidDataException>().WithMessage("*magic number 0x504B0304, expected 0x00000801*");
    }

    [Fact]
    public void Should_say_a_truncated_file_is_truncated()
    {
        var cut = Idx(0x803, [3, 2, 4], Pixels)[..^5];
        var act = () => IdxReader.ReadImages(new MemoryStream(cut), "cut");
        act.Should().Throw<InvalidDataException>().WithMessage("cut: the file ends after 19 of the 24 bytes of 3 images of 2×4 pixels*truncated*");
    }

    [Fact]
    public void Should_serve_fashion_mnist_files_as_rgb_samples_with_their_labels()
    {
        using var folder = new TempFolder();
        WriteGz(folder.Combine("t10k-images-idx3-ubyte.gz"), Idx(0x803, [3, 2, 4], Pixels));
        WriteGz(folder.Combine("t10k-labels-idx1-ubyte.gz"), Idx(0x801, [3], Labels));
        var dataset = new FashionMnistDataset(FashionMnistSplit.Test, folder.Path);
        dataset.Count.Should().Be(3);
        dataset.GetLabel(2).Should().Be(9);
        dataset.Classes[9].Should().Be("Ankle boot");
        using var image = dataset.LoadImage(1);
        (image.Width, image.Height).Should().Be((4, 2));
        var pixel = image.GetPixel(3, 1); // image 1, row 1, column 3: position 7 → 10 + 7 = 17
        (pixel.Red, pixel.Green, pixel.Blue).Should().Be(((byte)17, (byte)17, (byte)17));
    }

    [Fact]
    public void Should_reject_images_and_labels_of_different_counts()
    {
        using var folder = new TempFolder();
        WriteGz(folder.Combine("train-images-idx3-ubyte.gz"), Idx(0x803, [3, 2, 4], Pixels));
        WriteGz(folder.Combine("train-labels-idx1-ubyte.gz"), Idx(0x801, [2], Labels[..2]));
        var act = () => new FashionMnistDataset(FashionMnistSplit.Train, folder.Path);
        act.Should().Throw<InvalidDataException>().WithMessage("*3 images but*2 labels*");
    }

    [Fact]
    public void Should_name_the_debian_package_when_the_files_are_missing()
    {
        using var folder = new TempFolder();
        var act = () => new FashionMnistDataset(FashionMnistSplit.Train, folder.Path);
        act.Should().Throw<FileNotFoundException>().WithMessage("*train-images-idx3-ubyte.gz*apt-get install dataset-fashion-mnist*");
    }
}
