using MobileNeXt.Inference;
using MobileNeXt.Tests.Shared;
using MobileNeXt.Training.Data;
using SkiaSharp;

namespace MobileNeXt.Training.Tests.Data;

// Reference: FusedPixelPass.ApplyScalar, the scalar ToUnitChw → ColorJitter.Apply → Normalize the transform used before.
public class FusedPixelPassTests
{
    /// <summary>Distance in units in the last place between two floats of the same sign (0 when equal, +0 and −0 included).</summary>
    private static long Ulps(float a, float b)
    {
        if (a == b) return 0;
        return Math.Abs((long)BitConverter.SingleToInt32Bits(a) - BitConverter.SingleToInt32Bits(b));
    }

    private static void ShouldMatchTheScalarPath(SKBitmap image, bool flip, ColorJitterParameters jitter)
    {
        int n = 3 * image.Width * image.Height;
        var expected = new float[n];
        var actual = new float[n];
        FusedPixelPass.ApplyScalar(image, flip, jitter, NormalizationStatistics.ImageNet, expected);
        FusedPixelPass.Apply(image, flip, jitter, NormalizationStatistics.ImageNet, actual);
        long worst = 0;
        for (int i = 0; i < n; i++)
            worst = Math.Max(worst, Ulps(expected[i], actual[i]));
        worst.Should().BeLessThanOrEqualTo(1, $"order {string.Join(",", jitter.Steps.Select(s => s.Adjustment))}, flip {flip}");
    }

    private static SKBitmap Noise(int width, int height, int seed)
    {
        var rng = new Random(seed);
        return TestImages.FromFunction(width, height, (_, _) => new SKColor((byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256)));
    }

    [Theory]
    // 224 is a multiple of the 8-float vector; 37×23 leaves a scalar tail in every row and in the planes.
    [InlineData(224, 224)]
    [InlineData(37, 23)]
    public void Should_equal_the_scalar_path_within_one_ulp_on_random_pixels_in_every_jitter_order(int width, int height)
    {
        using var image = Noise(width, height, seed: width);
        var rng = new Random(11);
        var orders = new HashSet<string>();
        for (int draw = 0; draw < 60; draw++)
        {
            var jitter = ColorJitter.Sample(rng, 0.4, 0.4, 0.4);
            orders.Add(string.Join(",", jitter.Steps.Select(s => s.Adjustment)));
            ShouldMatchTheScalarPath(image, flip: draw % 2 == 0, jitter);
        }
        orders.Should().HaveCount(6);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(255)]
    public void Should_equal_the_scalar_path_on_the_edge_values(byte value)
    {
        using var constant = TestImages.Constant(29, 17, value, value, value);
        using var checker = TestImages.FromFunction(29, 17, (x, y) => (x + y) % 2 == 0 ? new SKColor(value, 0, 255) : new SKColor(255, value, 0));
        var rng = new Random(value);
        for (int draw = 0; draw < 12; draw++)
        {
            var jitter = ColorJitter.Sample(rng, 0.4, 0.4, 0.4);
            ShouldMatchTheScalarPath(constant, flip: false, jitter);
            ShouldMatchTheScalarPath(checker, flip: true, jitter);
        }
    }

    [Fact]
    public void Should_equal_the_scalar_path_with_jitter_switched_off_and_with_only_contrast()
    {
        using var image = Noise(40, 9, seed: 3);
        ShouldMatchTheScalarPath(image, flip: true, new ColorJitterParameters([]));
        ShouldMatchTheScalarPath(image, flip: false, new ColorJitterParameters([(ColorAdjustment.Contrast, 1.37f)]));
        ShouldMatchTheScalarPath(image, flip: false, new ColorJitterParameters([(ColorAdjustment.Contrast, 0.61f)]));
    }

    [Fact]
    public void Should_reject_a_destination_of_the_wrong_size()
    {
        using var image = Noise(8, 8, seed: 1);
        var act = () => FusedPixelPass.Apply(image, false, new ColorJitterParameters([]), NormalizationStatistics.ImageNet, new float[10]);
        act.Should().Throw<ArgumentException>().WithMessage("Destination holds 10 values; a 3×8×8 image needs 192.*");
    }
}
