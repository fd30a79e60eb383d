using MobileNeXt.Search.Data;

namespace MobileNeXt.Search.Tests.Data;

public sealed class Cifar10DatasetTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cifar10-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// Writes a file in CIFAR-10's binary format: per record the label byte, then 1024 R, 1024 G, 1024 B bytes (row-major).
    /// Record r's pixel (x, y) has R = (x + r) mod 256, G = y, B = 200 + label.
    /// </summary>
    private void Write(string name, params byte[] labels)
    {
        var bytes = new List<byte>();
        for (int r = 0; r < labels.Length; r++)
        {
            bytes.Add(labels[r]);
            for (int y = 0; y < 32; y++) for (int x = 0; x < 32; x++) bytes.Add((byte)((x + r) % 256));
            for (int y = 0; y < 32; y++) for (int x = 0; x < 32; x++) bytes.Add((byte)y);
            for (int i = 0; i < 1024; i++) bytes.Add((byte)(200 + labels[r]));
        }
        File.WriteAllBytes(Path.Combine(_dir, name), [.. bytes]);
    }

    [Fact]
    public void Should_read_labels_and_the_three_planes_of_every_record_across_the_five_training_files()
    {
        for (int i = 1; i <= 5; i++) Write($"data_batch_{i}.bin", (byte)i, (byte)(9 - i));
        var set = new Cifar10Dataset(_dir);
        set.Count.Should().Be(10);
        set.GetLabel(0).Should().Be(1);
        set.GetLabel(9).Should().Be(4); // data_batch_5's second record: 9 − 5
        set.Classes[set.GetLabel(3)].Should().Be("horse"); // 9 − 2 = 7
        using var image = set.LoadImage(3); // record 1 of data_batch_2, label 7
        (image.Width, image.Height).Should().Be((32, 32));
        var pixel = image.GetPixel(5, 20);
        (pixel.Red, pixel.Green, pixel.Blue, pixel.Alpha).Should().Be(((byte)6, (byte)20, (byte)207, (byte)255));
    }

    [Fact]
    public void Should_read_the_test_file()
    {
        Write("test_batch.bin", 3, 0, 9);
        var set = new Cifar10Dataset(_dir, Cifar10Split.Test);
        Enumerable.Range(0, set.Count).Select(set.GetLabel).Should().Equal(3, 0, 9);
    }

    [Fact]
    public void Should_name_a_missing_file_and_refuse_a_truncated_one()
    {
        var missing = () => new Cifar10Dataset(_dir, Cifar10Split.Test);
        missing.Should().Throw<FileNotFoundException>().WithMessage("*test_batch.bin*cifar-10-batches-bin*");
        File.WriteAllBytes(Path.Combine(_dir, "test_batch.bin"), new byte[3072]);
        var truncated = () => new Cifar10Dataset(_dir, Cifar10Split.Test);
        truncated.Should().Throw<InvalidDataException>().WithMessage("*3072 bytes*3073-byte*");
    }

    [Fact]
    public void Should_refuse_a_label_outside_the_ten_classes()
    {
        Write("test_batch.bin", 2, 10);
        var act = () => new Cifar10Dataset(_dir, Cifar10Split.Test);
        act.Should().Throw<InvalidDataException>().WithMessage("*record 1 has label 10*");
    }
}
