using MobileNeXt.Tests.Shared;
using MobileNeXt.Training.Data;

namespace MobileNeXt.Training.Tests.Data;

public class ImageFolderDatasetTests
{
    [Fact]
    public void Should_number_classes_in_ordinal_order_as_torchvision_ImageFolder()
    {
        // Python's sorted() compares code points: "B" (66) < "Z" (90) < "_x" (95) < "a" (97) < "n01440764" < "é" (233).
        using var folder = new TempFolder();
        foreach (var cls in new[] { "a", "B", "_x", "Z", "n01440764", "é" })
            TestImages.SaveConstant(folder.Combine(cls, "1.png"));
        var dataset = new ImageFolderDataset(folder.Path);
        dataset.Classes.Should().Equal("B", "Z", "_x", "a", "n01440764", "é");
        Enumerable.Range(0, dataset.Count).Select(dataset.GetLabel).Should().Equal(0, 1, 2, 3, 4, 5);
    }

    [Fact]
    public void Should_list_jpg_jpeg_and_png_of_any_case_in_ordinal_order_and_ignore_other_files()
    {
        using var folder = new TempFolder();
        foreach (var name in new[] { "b.png", "A.JPG", "c.Jpeg", "a.jpg" })
            TestImages.SaveConstant(folder.Combine("cat", name));
        File.WriteAllText(folder.Combine("cat", "notes.txt"), "not an image");
        File.WriteAllText(folder.Combine("cat", "x.gif"), "not listed");
        var dataset = new ImageFolderDataset(folder.Path);
        Enumerable.Range(0, dataset.Count).Select(i => Path.GetFileName(dataset.GetPath(i)))
            .Should().Equal("A.JPG", "a.jpg", "b.png", "c.Jpeg");
    }

    [Fact]
    public void Should_decode_an_image_to_its_rgb_pixels()
    {
        using var folder = new TempFolder();
        TestImages.SaveConstant(folder.Combine("cat", "1.png"), 10, 20, 30, width: 7, height: 5);
        var dataset = new ImageFolderDataset(folder.Path);
        using var image = dataset.LoadImage(0)!;
        (image.Width, image.Height).Should().Be((7, 5));
        var pixel = image.GetPixel(3, 2);
        (pixel.Red, pixel.Green, pixel.Blue, pixel.Alpha).Should().Be(((byte)10, (byte)20, (byte)30, (byte)255));
    }

    [Fact]
    public void Should_say_what_to_do_when_the_folder_is_missing()
    {
        var act = () => new ImageFolderDataset("/nonexistent/imagenet/train");
        act.Should().Throw<DirectoryNotFoundException>().WithMessage("*does not exist*one sub-folder per class*");
    }

    [Fact]
    public void Should_say_what_to_do_when_there_are_no_class_folders()
    {
        using var folder = new TempFolder();
        TestImages.SaveConstant(folder.Combine("loose.png"));
        var act = () => new ImageFolderDataset(folder.Path);
        act.Should().Throw<InvalidDataException>().WithMessage("*no class sub-folders*root/<class>/<image>*");
    }

    [Fact]
    public void Should_say_which_class_folder_has_no_images()
    {
        using var folder = new TempFolder();
        TestImages.SaveConstant(folder.Combine("cat", "1.png"));
        Directory.CreateDirectory(folder.Combine("dog"));
        File.WriteAllText(folder.Combine("dog", "readme.txt"), "");
        var act = () => new ImageFolderDataset(folder.Path);
        act.Should().Throw<InvalidDataException>().WithMessage($"*{folder.Combine("dog")}*holds no readable images*");
    }

    [Fact]
    public void Should_skip_count_and_log_a_corrupt_image_once_by_default()
    {
        using var folder = new TempFolder();
        TestImages.SaveConstant(folder.Combine("cat", "1.png"));
        File.WriteAllText(folder.Combine("cat", "2.jpg"), "this is not a JPEG");
        var log = new List<string>();
        var dataset = new ImageFolderDataset(folder.Path, new ImageFolderOptions { Log = log.Add });

        dataset.Count.Should().Be(2); // names only at scan time, as torchvision
        using (var good = dataset.LoadImage(0))
            good.Should().NotBeNull();
        dataset.LoadImage(1).Should().BeNull();
        dataset.LoadImage(1).Should().BeNull();

        dataset.SkippedCount.Should().Be(1);
        dataset.SkippedFiles.Select(kv => kv.Key).Should().Equal(folder.Combine("cat", "2.jpg"));
        log.Should().ContainSingle().Which.Should().Contain(folder.Combine("cat", "2.jpg"));
    }

    [Fact]
    public void Should_throw_naming_the_file_for_a_corrupt_image_when_asked_to()
    {
        using var folder = new TempFolder();
        TestImages.SaveConstant(folder.Combine("cat", "1.png"));
        File.WriteAllBytes(folder.Combine("cat", "2.png"), [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]);
        var dataset = new ImageFolderDataset(folder.Path, new ImageFolderOptions { CorruptImages = CorruptImagePolicy.Throw });
        var act = () => dataset.LoadImage(1);
        act.Should().Throw<InvalidDataException>().WithMessage($"*{folder.Combine("cat", "2.png")}*");
    }

    [Fact]
    public void Should_treat_a_truncated_image_as_corrupt()
    {
        using var folder = new TempFolder();
        TestImages.SaveConstant(folder.Combine("cat", "1.png"), width: 64, height: 64);
        var bytes = File.ReadAllBytes(folder.Combine("cat", "1.png"));
        File.WriteAllBytes(folder.Combine("cat", "2.png"), bytes[..(bytes.Length / 2)]);
        var dataset = new ImageFolderDataset(folder.Path, new ImageFolderOptions { Log = _ => { } });
        dataset.LoadImage(1).Should().BeNull();
        dataset.SkippedCount.Should().Be(1);
    }

    [Fact]
    public void Should_leave_non_images_out_of_the_index_when_verifying_on_scan()
    {
        using var folder = new TempFolder();
        TestImages.SaveConstant(folder.Combine("cat", "1.png"));
        File.WriteAllText(folder.Combine("cat", "2.jpg"), "not a JPEG");
        TestImages.SaveConstant(folder.Combine("cat", "3.png"));
        var dataset = new ImageFolderDataset(folder.Path, new ImageFolderOptions { VerifyOnScan = true, Log = _ => { } });
        dataset.Count.Should().Be(2);
        dataset.SkippedCount.Should().Be(1);
        Path.GetFileName(dataset.GetPath(1)).Should().Be("3.png");
    }
}
