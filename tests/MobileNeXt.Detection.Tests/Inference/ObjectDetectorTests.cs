using MobileNeXt.Detection.Boxes;
using MobileNeXt.Detection.Data;
using MobileNeXt.Detection.Inference;
using SkiaSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Detection.Tests.Inference;

/// <summary>ObjectDetector: the released detector's own detections, mapped back to the pixels of a non-square image.</summary>
public class ObjectDetectorTests
{
    private static SKBitmap Gradient(int width, int height)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                bitmap.SetPixel(x, y, new SKColor((byte)(x * 255 / width), (byte)(y * 255 / height), (byte)((x + y) % 256)));
        return bitmap;
    }

    [Fact]
    public void Should_give_the_detectors_detections_in_image_pixels_with_names()
    {
        using var model = TestSupport.ReferenceDetector();
        var names = Enumerable.Range(0, 20).Select(i => $"c{i}").ToArray();
        using var bitmap = Gradient(200, 150);
        using var detector = new ObjectDetector(model, names, fuse: false);
        var found = detector.Detect(bitmap);

        // The same by hand: resize + normalise, the detector, then × 200/320 and × 150/320 clipped to the image, labels − 1.
        var (chw, _) = SsdAugmentation.ToInput(DetectionImage.FromBitmap(bitmap, []), 320);
        using var input = tensor(chw, [1, 3, 320, 320]);
        var expected = model.Detect(input)[0].Where(e => Math.Min(e.X2, 320) > Math.Max(e.X1, 0) && Math.Min(e.Y2, 320) > Math.Max(e.Y1, 0)).ToList();
        found.Should().HaveCount(expected.Count).And.NotBeEmpty();
        for (int i = 0; i < expected.Count; i++)
        {
            var (d, e) = (found[i], expected[i]);
            d.Class.Should().Be(e.Label - 1);
            d.Name.Should().Be(names[e.Label - 1]);
            d.Score.Should().Be(e.Score);
            d.X1.Should().BeApproximately(Math.Clamp(e.X1 * 200 / 320f, 0, 200), 1e-3f);
            d.Y1.Should().BeApproximately(Math.Clamp(e.Y1 * 150 / 320f, 0, 150), 1e-3f);
            d.X2.Should().BeApproximately(Math.Clamp(e.X2 * 200 / 320f, 0, 200), 1e-3f);
            d.Y2.Should().BeApproximately(Math.Clamp(e.Y2 * 150 / 320f, 0, 150), 1e-3f);
        }
        expected.Should().Contain(e => e.X1 < 0 || e.Y1 < 0 || e.X2 > 320 || e.Y2 > 320, "some raw boxes reach past the border, so the clipping is exercised");
        found.Should().OnlyContain(d => d.X1 >= 0 && d.Y1 >= 0 && d.X2 <= 200 && d.Y2 <= 150);
    }

    [Fact]
    public void Should_refuse_names_of_another_class_count()
    {
        using var model = TestSupport.ReferenceDetector();
        var act = () => new ObjectDetector(model, ["a", "b"], fuse: false);
        act.Should().Throw<ArgumentException>().WithMessage("2 class names were given for a detector of 20 classes (plus background)*");
    }

    [Fact]
    public void Should_draw_each_box_on_a_copy()
    {
        using var white = new SKBitmap(new SKImageInfo(100, 80, SKColorType.Rgba8888, SKAlphaType.Opaque));
        white.Erase(SKColors.White);
        using var drawn = ObjectDetector.Annotate(white, [new ImageDetection(0, "shirt", 0.9f, 20, 30, 60, 70)]);
        drawn.GetPixel(20, 50).Should().NotBe(SKColors.White, "the box's left edge");
        drawn.GetPixel(40, 50).Should().Be(SKColors.White, "inside the box");
        drawn.GetPixel(90, 75).Should().Be(SKColors.White, "outside the box");
        white.GetPixel(20, 50).Should().Be(SKColors.White, "the input is not drawn on");
    }
}
