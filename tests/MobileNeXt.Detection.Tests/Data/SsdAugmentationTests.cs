using MobileNeXt.Detection.Data;

namespace MobileNeXt.Detection.Tests.Data;

/// <summary>SSD augmentation moves boxes with the pixels: checked on a red rectangle whose box is known exactly.</summary>
public class SsdAugmentationTests
{
    /// <summary>A 120×90 grey image with a red rectangle [30, 70) × [20, 50) and that box.</summary>
    private static DetectionImage RedRectangle()
    {
        int w = 120, h = 90;
        var p = new float[w * h * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                bool red = x >= 30 && x < 70 && y >= 20 && y < 50;
                p[(y * w + x) * 3] = red ? 250 : 90;
                p[(y * w + x) * 3 + 1] = red ? 0 : 90;
                p[(y * w + x) * 3 + 2] = red ? 0 : 90;
            }
        return new DetectionImage(p, w, h, [new ObjectBox(3, 30, 20, 70, 50)]);
    }

    /// <summary>The bounds [x1, x2) × [y1, y2) of the red pixels, or null if none.</summary>
    private static (int, int, int, int)? RedBounds(DetectionImage image)
    {
        int x1 = int.MaxValue, y1 = int.MaxValue, x2 = -1, y2 = -1;
        for (int y = 0; y < image.Height; y++)
            for (int x = 0; x < image.Width; x++)
                if (image.Pixels[(y * image.Width + x) * 3] == 250 && image.Pixels[(y * image.Width + x) * 3 + 1] == 0)
                {
                    x1 = Math.Min(x1, x); y1 = Math.Min(y1, y); x2 = Math.Max(x2, x + 1); y2 = Math.Max(y2, y + 1);
                }
        return x2 < 0 ? null : (x1, y1, x2, y2);
    }

    [Fact]
    public void Should_keep_each_box_exactly_on_its_pixels_through_expand_crop_and_flip()
    {
        int flipped = 0, expanded = 0, cropped = 0;
        for (int seed = 0; seed < 200; seed++)
        {
            var rng = new Random(seed);
            var source = RedRectangle();
            var x = SsdAugmentation.Expand(source, rng);
            if (x.Width != source.Width) expanded++;
            x = SsdAugmentation.RandomCrop(x, rng);
            if (x.Width * x.Height < source.Width * source.Height) cropped++;
            var before = x.Objects[0];
            x = SsdAugmentation.Flip(x, rng);
            if (x.Objects[0] != before) flipped++;

            x.Objects.Should().ContainSingle("the crop keeps the object whose centre it contains");
            var box = x.Objects[0];
            box.Label.Should().Be(3);
            var red = RedBounds(x);
            red.Should().NotBeNull();
            red!.Value.Should().Be(((int)box.X1, (int)box.Y1, (int)box.X2, (int)box.Y2), $"seed {seed}: the box is the rectangle's pixels, exactly");
            (box.X1, box.Y1, box.X2, box.Y2).Should().Be(((int)box.X1, (int)box.Y1, (int)box.X2, (int)box.Y2), "whole-pixel offsets keep corners whole");
        }
        flipped.Should().BeInRange(60, 140, "flip has p ½");
        expanded.Should().BeInRange(60, 140, "expand has p ½");
        cropped.Should().BeGreaterThan(60, "five of the six crop modes crop");
    }

    [Fact]
    public void Should_zoom_out_at_most_the_given_ratio_and_not_at_all_at_1()
    {
        int expanded = 0;
        for (int seed = 0; seed < 200; seed++)
        {
            var source = RedRectangle();
            // A canvas of at most 1.5 × 120 = 180 by 1.5 × 90 = 135, the box moved with the pixels.
            var x = SsdAugmentation.Expand(source, new Random(seed), maxRatio: 1.5);
            x.Width.Should().BeLessThanOrEqualTo(180);
            x.Height.Should().BeLessThanOrEqualTo(135);
            if (x.Width != source.Width) expanded++;
            var box = x.Objects[0];
            RedBounds(x).Should().Be(((int)box.X1, (int)box.Y1, (int)box.X2, (int)box.Y2), $"seed {seed}");

            // No zoom-out at 1: the whole chain only crops, so it never grows the image, and the box stays on its pixels.
            var y = SsdAugmentation.Train(source, new Random(seed), maxExpand: 1);
            y.Width.Should().BeLessThanOrEqualTo(120);
            y.Height.Should().BeLessThanOrEqualTo(90);
        }
        expanded.Should().BeInRange(60, 140, "expand has p ½");
        var act = () => SsdAugmentation.Expand(RedRectangle(), new Random(0), maxRatio: 0.5);
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("The zoom-out ratio must be at least 1.*");
    }

    [Fact]
    public void Should_change_colours_but_not_boxes_and_stay_in_range()
    {
        for (int seed = 0; seed < 20; seed++)
        {
            var source = RedRectangle();
            var x = SsdAugmentation.PhotometricDistort(source, new Random(seed));
            x.Objects.Should().Equal(source.Objects);
            (x.Width, x.Height).Should().Be((source.Width, source.Height));
            x.Pixels.Should().OnlyContain(v => v >= 0 && v <= 255);
        }
    }

    [Fact]
    public void Should_resize_to_relative_boxes_and_normalise_the_mean_to_zero()
    {
        var canvas = new float[40 * 20 * 3];
        for (int i = 0; i < canvas.Length; i += 3) { canvas[i] = 123; canvas[i + 1] = 117; canvas[i + 2] = 104; }
        var (chw, objects) = SsdAugmentation.ToInput(new DetectionImage(canvas, 40, 20, [new ObjectBox(0, 10, 5, 30, 20)]), 32);
        chw.Length.Should().Be(3 * 32 * 32);
        chw.Should().OnlyContain(v => Math.Abs(v) < 1e-6, "the mean colour normalises to 0");
        objects.Should().Equal(new ObjectBox(0, 0.25f, 0.25f, 0.75f, 1f));
    }

    [Fact]
    public void Should_drop_difficult_objects_for_training()
    {
        var image = RedRectangle();
        var withDifficult = new DetectionImage(image.Pixels, image.Width, image.Height, [.. image.Objects, new ObjectBox(1, 0, 0, 10, 10, Difficult: true)]);
        for (int seed = 0; seed < 10; seed++)
            SsdAugmentation.Train(withDifficult, new Random(seed)).Objects.Should().OnlyContain(o => !o.Difficult);
    }
}
