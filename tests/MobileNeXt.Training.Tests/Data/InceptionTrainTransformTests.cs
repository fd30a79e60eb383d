using MobileNeXt.Inference;
using MobileNeXt.Tests.Shared;
using MobileNeXt.Training.Data;
using SkiaSharp;

namespace MobileNeXt.Training.Tests.Data;

public class InceptionTrainTransformTests
{
    private static readonly float[] Mean = [0.485f, 0.456f, 0.406f];
    private static readonly float[] Std = [0.229f, 0.224f, 0.225f];

    [Fact]
    public void Should_flip_half_of_the_samples_within_a_binomial_bound()
    {
        // Flips ~ Binomial(n = 20,000, p = 0.5): mean 10,000, σ = √(n·p·(1−p)) ≈ 70.7; accept ±4σ = ±283.
        var transform = new InceptionTrainTransform();
        var rng = new Random(4);
        const int n = 20_000;
        int flips = Enumerable.Range(0, n).Count(_ => transform.SampleParameters(500, 375, rng).Flip);
        flips.Should().BeInRange(n / 2 - 283, n / 2 + 283);
    }

    [Fact]
    public void Should_apply_colour_jitter_in_each_of_the_six_orders_about_equally_often()
    {
        // torchvision draws a random permutation per sample. Each order ~ Binomial(6,000, 1/6): mean 1,000,
        // σ = √(6000·(1/6)·(5/6)) ≈ 28.9; accept ±4σ ≈ ±116. A fixed order (TorchSharp's) would give one order 6,000 times.
        var transform = new InceptionTrainTransform();
        var rng = new Random(5);
        var counts = new Dictionary<string, int>();
        for (int i = 0; i < 6000; i++)
        {
            var jitter = transform.SampleParameters(500, 375, rng).ColorJitter;
            jitter.Steps.Should().HaveCount(3);
            foreach (var (_, factor) in jitter.Steps)
                factor.Should().BeInRange(0.6f, 1.4f); // U(1 − 0.4, 1 + 0.4)
            var key = string.Join(",", jitter.Steps.Select(s => s.Adjustment));
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }
        counts.Should().HaveCount(6);
        counts.Values.Should().OnlyContain(c => c >= 1000 - 116 && c <= 1000 + 116);
    }

    [Fact]
    public void Should_equal_the_closed_form_of_its_jitter_on_a_constant_colour_image()
    {
        // A constant image stays constant through crop and resize; then, from torchvision's tensor formulas with
        // grey = 0.2989 R + 0.587 G + 0.114 B: brightness x·f, contrast f·x + (1−f)·mean(grey), saturation f·x + (1−f)·grey,
        // each clamped to [0, 1]; then (x − mean) / std.
        var transform = new InceptionTrainTransform(new TrainAugmentationOptions { Size = 32 });
        using var image = TestImages.Constant(120, 90, 200, 100, 50);
        for (int seed = 0; seed < 20; seed++)
        {
            var p = transform.SampleParameters(image.Width, image.Height, new Random(seed));
            double[] c = [200 / 255.0, 100 / 255.0, 50 / 255.0];
            foreach (var (adjustment, factor) in p.ColorJitter.Steps)
            {
                double f = factor, grey = 0.2989 * c[0] + 0.587 * c[1] + 0.114 * c[2];
                for (int k = 0; k < 3; k++)
                    c[k] = Math.Clamp(adjustment == ColorAdjustment.Brightness ? f * c[k] : f * c[k] + (1 - f) * grey, 0, 1);
            }
            var output = new float[3 * 32 * 32];
            transform.Apply(image, p, output);
            for (int k = 0; k < 3; k++)
            {
                double expected = (c[k] - Mean[k]) / Std[k];
                output.AsSpan(k * 1024, 1024).ToArray().Should().OnlyContain(v => Math.Abs(v - expected) < 1e-4,
                    $"channel {k}, seed {seed}, steps {string.Join(",", p.ColorJitter.Steps)}");
            }
        }
    }

    [Fact]
    public void Should_mirror_the_crop_left_to_right_when_it_flips()
    {
        // Left half red, right half blue; crop the whole image, no jitter: a flip puts blue on the left.
        using var image = TestImages.FromFunction(64, 64, (x, _) => x < 32 ? new SKColor(255, 0, 0) : new SKColor(0, 0, 255));
        var transform = new InceptionTrainTransform(new TrainAugmentationOptions { Size = 64, Normalization = NormalizationStatistics.Identity });
        var whole = new CropBox(0, 0, 64, 64);
        var noJitter = new ColorJitterParameters([]);
        var plain = new float[3 * 64 * 64];
        var flipped = new float[3 * 64 * 64];
        transform.Apply(image, new AugmentationParameters(whole, false, noJitter), plain);
        transform.Apply(image, new AugmentationParameters(whole, true, noJitter), flipped);

        int blue = 2 * 64 * 64, red = 0;
        plain[red + 5 * 64 + 3].Should().Be(1f);    // row 5, column 3: red
        plain[blue + 5 * 64 + 3].Should().Be(0f);
        flipped[red + 5 * 64 + 3].Should().Be(0f);  // mirrored: blue
        flipped[blue + 5 * 64 + 3].Should().Be(1f);
        for (int y = 0; y < 64; y++)
            for (int x = 0; x < 64; x++)
                flipped[y * 64 + x].Should().Be(plain[y * 64 + 63 - x]);
    }

    [Fact]
    public void Should_give_identical_output_for_the_same_seed_and_different_output_for_another()
    {
        var transform = new InceptionTrainTransform(new TrainAugmentationOptions { Size = 48 });
        using var image = TestImages.FromFunction(100, 80, (x, y) => new SKColor((byte)(x * 2), (byte)(y * 3), (byte)(x + y)));
        float[] Run(int seed)
        {
            var output = new float[3 * 48 * 48];
            transform.Apply(image, new Random(seed), output);
            return output;
        }
        Run(7).Should().Equal(Run(7));
        Run(7).Should().NotEqual(Run(8));
    }

    [Fact]
    public void Should_reject_invalid_options_with_the_value_to_use()
    {
        var act = () => new InceptionTrainTransform(new TrainAugmentationOptions { FlipProbability = 1.5 });
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*FlipProbability*[0, 1]*");
    }
}
