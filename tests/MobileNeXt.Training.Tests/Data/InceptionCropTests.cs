using MobileNeXt.Inference;
using MobileNeXt.Training.Data;

namespace MobileNeXt.Training.Tests.Data;

// Reference: torchvision transforms.RandomResizedCrop.get_params (scale (0.08, 1), ratio (3/4, 4/3), 10 attempts,
// centre-crop fallback). Binomial bounds are ±4σ; with a fixed seed each test is deterministic, and a correct
// implementation would fall outside ±4σ for fewer than 1 in 15,000 seeds.
public class InceptionCropTests
{
    private const int Draws = 20_000;

    [Fact]
    public void Should_keep_area_in_0_08_to_1_and_aspect_in_three_quarters_to_four_thirds_up_to_rounding()
    {
        var rng = new Random(1);
        for (int i = 0; i < Draws; i++)
        {
            const int W = 500, H = 375; // a typical ImageNet photo
            var box = InceptionCrop.Sample(W, H, rng);
            box.Top.Should().BeInRange(0, H - box.Height);
            box.Left.Should().BeInRange(0, W - box.Width);
            // Each side is the rounding of an exact side w*, h* with w*h* = scale·area and w*/h* = ratio,
            // so |w − w*| ≤ ½ and |h − h*| ≤ ½ bound the scale and ratio that produced the box.
            ((box.Width + 0.5) * (box.Height + 0.5) / (W * H)).Should().BeGreaterThanOrEqualTo(0.08);
            ((box.Width - 0.5) * (box.Height - 0.5) / (W * H)).Should().BeLessThanOrEqualTo(1.0);
            ((box.Width + 0.5) / (box.Height - 0.5)).Should().BeGreaterThanOrEqualTo(3.0 / 4.0);
            ((box.Width - 0.5) / (box.Height + 0.5)).Should().BeLessThanOrEqualTo(4.0 / 3.0);
        }
    }

    [Fact]
    public void Should_draw_area_uniformly_and_aspect_log_uniformly_over_the_whole_range()
    {
        // On a square 400² image every draw with scale ≤ 3/4 fits (w*, h* ≤ 400 for ratio in [3/4, 4/3]), so crops with
        // area fraction in [0.1, 0.7] are first-attempt draws: uniform in area, and their log-ratio is uniform and symmetric.
        var rng = new Random(2);
        int lowerArea = 0, upperArea = 0, wide = 0, tall = 0;
        double minArea = 1, minRatio = 2, maxRatio = 0;
        for (int i = 0; i < Draws; i++)
        {
            var box = InceptionCrop.Sample(400, 400, rng);
            double area = box.AreaFraction(400, 400), ratio = box.AspectRatio;
            minArea = Math.Min(minArea, area);
            minRatio = Math.Min(minRatio, ratio);
            maxRatio = Math.Max(maxRatio, ratio);
            if (area is >= 0.1 and < 0.7)
            {
                if (area < 0.4) lowerArea++; else upperArea++;
                if (box.Width > box.Height) wide++; else if (box.Width < box.Height) tall++;
            }
        }
        // Uniform area: [0.1, 0.4) and [0.4, 0.7) equally likely, so lower − upper has mean 0 and σ = √(lower + upper).
        // (Scaling the side instead, as TorchSharp does, would put about 1.5× as many crops in the lower half.)
        (lowerArea - upperArea).Should().BeInRange((int)(-4 * Math.Sqrt(lowerArea + upperArea)), (int)(4 * Math.Sqrt(lowerArea + upperArea)));
        // Symmetric log-ratio: wide (w > h) and tall crops equally likely; wide − tall has σ = √(wide + tall).
        (wide - tall).Should().BeInRange((int)(-4 * Math.Sqrt(wide + tall)), (int)(4 * Math.Sqrt(wide + tall)));
        // The ends of both ranges are reached: P(no draw of 20,000 below scale 0.085) = (1 − 0.005/0.92)^20000 ≈ e^−108.
        minArea.Should().BeLessThan(0.085);
        minRatio.Should().BeLessThan(0.77);
        maxRatio.Should().BeGreaterThan(1.30);
    }

    [Theory]
    // torchvision's fallback: in_ratio = 100 > 4/3 → h = 10, w = round(10·4/3) = 13, j = (1000 − 13) // 2 = 493.
    [InlineData(1000, 10, 0, 493, 10, 13)]
    // in_ratio = 0.01 < 3/4 → w = 10, h = round(10 / (3/4)) = 13, i = (1000 − 13) // 2 = 493.
    [InlineData(10, 1000, 493, 0, 13, 10)]
    public void Should_fall_back_to_torchvisions_centre_crop_when_no_attempt_fits(int width, int height, int top, int left, int h, int w)
    {
        // On these strips no draw fits (h* ≤ 10 needs scale/ratio ≤ 0.01, but scale ≥ 0.08 and ratio ≤ 4/3).
        var rng = new Random(3);
        for (int i = 0; i < 100; i++)
            InceptionCrop.Sample(width, height, rng).Should().Be(new CropBox(top, left, h, w));
    }

    [Fact]
    public void Should_use_the_whole_image_as_fallback_when_its_ratio_is_in_range() =>
        InceptionCrop.CentreFallback(500, 375).Should().Be(new CropBox(0, 0, 375, 500));

    [Fact]
    public void Should_reject_a_scale_range_outside_0_to_1()
    {
        var act = () => InceptionCrop.Sample(100, 100, new Random(0), minScale: 0.5, maxScale: 1.5);
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*0.08, 1.0*");
    }
}
