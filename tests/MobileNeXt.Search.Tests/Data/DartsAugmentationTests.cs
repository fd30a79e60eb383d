using MobileNeXt.Inference;
using MobileNeXt.Search.Data;
using SkiaSharp;

namespace MobileNeXt.Search.Tests.Data;

public class DartsAugmentationTests
{
    private static SKBitmap White(int side)
    {
        var b = new SKBitmap(new SKImageInfo(side, side, SKColorType.Rgba8888, SKAlphaType.Opaque));
        b.Erase(SKColors.White);
        return b;
    }

    private static int Zeros(float[] chw, int channel, int side) => chw.Skip(channel * side * side).Take(side * side).Count(v => v == 0f);

    [Theory]
    // utils.Cutout: y1 = clip(y − 8, 0, 32), y2 = clip(y + 8, 0, 32), same for x
    [InlineData(16, 16, 256)] // 16 × 16 inside the image
    [InlineData(0, 0, 64)]    // 8 × 8 at the corner
    [InlineData(31, 31, 81)]  // rows 23…31, columns 23…31
    public void Should_cut_out_DARTS_square_clipped_to_the_image(int y, int x, int expected)
    {
        var t = new DartsAugmentation(new DartsAugmentationOptions { CutoutLength = 16, Normalization = NormalizationStatistics.Identity });
        using var image = White(32);
        var chw = new float[3 * 32 * 32];
        t.Apply(image, new DartsAugmentationDraw(4, 4, false, y, x), chw); // crop at the padding: no border
        for (int c = 0; c < 3; c++) Zeros(chw, c, 32).Should().Be(expected);
    }

    [Fact]
    public void Should_pad_with_zeros_before_cropping()
    {
        var t = new DartsAugmentation(new DartsAugmentationOptions { Normalization = NormalizationStatistics.Identity });
        using var image = White(32);
        var chw = new float[3 * 32 * 32];
        t.Apply(image, new DartsAugmentationDraw(0, 0, false, -1, -1), chw); // the crop's top-left corner in the 4-pixel border
        Zeros(chw, 0, 32).Should().Be(32 * 32 - 28 * 28);
        chw[0].Should().Be(0f);
        chw[4 * 32 + 4].Should().Be(1f);
        t.Apply(image, new DartsAugmentationDraw(0, 0, true, -1, -1), chw); // mirrored: the zero columns move to the right
        chw[4 * 32 + 0].Should().Be(1f);
        chw[4 * 32 + 31].Should().Be(0f);
    }

    [Fact]
    public void Should_centre_Fashion_MNIST_28_pixel_images_on_a_32_pixel_canvas_for_testing()
    {
        var t = new DartsAugmentation(new DartsAugmentationOptions { Train = false, Normalization = DartsAugmentationOptions.FashionMnistStatistics });
        using var image = White(28);
        var chw = new float[3 * 32 * 32];
        t.Apply(image, new Random(1), chw);
        float background = -0.2860f / 0.3530f, white = (1 - 0.2860f) / 0.3530f;
        chw.Take(1024).Count(v => Math.Abs(v - background) < 1e-6).Should().Be(32 * 32 - 28 * 28); // 2-pixel border
        chw[2 * 32 + 2].Should().BeApproximately(white, 1e-6f);
    }

    [Fact]
    public void Should_draw_crop_offsets_within_twice_the_padding_and_flip_half_the_time()
    {
        var t = new DartsAugmentation(new DartsAugmentationOptions { CutoutLength = 16 });
        var rng = new Random(5);
        var draws = Enumerable.Range(0, 4000).Select(_ => t.Sample(rng)).ToList();
        draws.Select(d => d.Top).Distinct().Order().Should().Equal(Enumerable.Range(0, 9)); // randint over 0…8
        draws.Select(d => d.CutoutY).Distinct().Order().Should().Equal(Enumerable.Range(0, 32));
        (draws.Count(d => d.Flip) / 4000.0).Should().BeApproximately(0.5, 0.04);
    }
}
