using MobileNeXt.Training.Data;

namespace MobileNeXt.Training.Tests.Data;

public class SyntheticShapesDatasetTests
{
    private static byte[] Pixels(IImageDataset dataset, int index)
    {
        using var image = dataset.LoadImage(index)!;
        return image.GetPixelSpan().ToArray();
    }

    [Fact]
    public void Should_draw_the_same_image_for_the_same_seed_and_index_and_another_for_another_seed()
    {
        var a = new SyntheticShapesDataset(new SyntheticShapesOptions { Seed = 1 });
        var b = new SyntheticShapesDataset(new SyntheticShapesOptions { Seed = 1 });
        var c = new SyntheticShapesDataset(new SyntheticShapesOptions { Seed = 2 });
        Pixels(a, 17).Should().Equal(Pixels(b, 17));
        Pixels(a, 17).Should().NotEqual(Pixels(c, 17));
        Pixels(a, 17).Should().NotEqual(Pixels(a, 27)); // same class (17 mod 10 = 27 mod 10), another draw
    }

    [Fact]
    public void Should_balance_labels_and_name_each_class_by_colour_and_shape()
    {
        var dataset = new SyntheticShapesDataset(new SyntheticShapesOptions { NumClasses = 12, Count = 120 });
        dataset.Classes.Should().HaveCount(12).And.OnlyHaveUniqueItems();
        dataset.Classes[0].Should().Be("red circle");
        dataset.Classes[6].Should().Be("green square"); // class 6: shape 6 mod 5 = 1, colour ⌊6 / 5⌋ = 1
        Enumerable.Range(0, 120).GroupBy(dataset.GetLabel).Should().HaveCount(12).And.OnlyContain(g => g.Count() == 10);
    }

    [Fact]
    public void Should_draw_opaque_images_of_the_requested_size()
    {
        var dataset = new SyntheticShapesDataset(new SyntheticShapesOptions { ImageSize = 48 });
        using var image = dataset.LoadImage(3);
        (image.Width, image.Height).Should().Be((48, 48));
        var pixels = image.GetPixelSpan().ToArray();
        Enumerable.Range(0, pixels.Length / 4).Should().OnlyContain(i => pixels[4 * i + 3] == 255);
    }

    [Fact]
    public void Should_reject_more_classes_than_shapes_times_colours()
    {
        var act = () => new SyntheticShapesDataset(new SyntheticShapesOptions { NumClasses = 41 });
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*[2, 40]*");
    }
}
