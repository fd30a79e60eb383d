using MobileNeXt.Detection.Boxes;
using static TorchSharp.torch;

namespace MobileNeXt.Detection.Tests.Boxes;

public class PriorBoxesTests
{
    [Fact]
    public void Should_reproduce_the_released_priors()
    {
        using var priors = PriorBoxes.Create(new SsdLiteOptions());
        priors.shape.Should().Equal(3234, 4); // manifest.json: 3234 priors
        // Fixtures/README.md: priors.npy should match to 1e-6.
        TestSupport.MaxAbsDiff(priors, TestSupport.Vectors["priors"]).Should().BeLessThan(1e-6f);
    }

    [Fact]
    public void Should_put_the_first_location_s_six_priors_in_the_released_order()
    {
        using var priors = PriorBoxes.Create(new SsdLiteOptions());
        // followon-models.md §B by hand: level 0, location (0, 0): centre 8/320, min 45, max 120, ratios 2 and 3.
        double c = 0.5 * 16 / 320, min = 45.0 / 320, max = Math.Sqrt(45.0 * 120) / 320;
        var expected = new[]
        {
            new[] { c, c, min, min },
            [c, c, max, max],
            [c, c, min * Math.Sqrt(2), min / Math.Sqrt(2)],
            [c, c, min / Math.Sqrt(2), min * Math.Sqrt(2)],
            [c, c, min * Math.Sqrt(3), min / Math.Sqrt(3)],
            [c, c, min / Math.Sqrt(3), min * Math.Sqrt(3)],
        };
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 4; j++)
                priors[i, j].item<float>().Should().BeApproximately((float)expected[i][j], 1e-6f);
    }

    [Fact]
    public void Should_clip_the_priors_to_the_image()
    {
        using var priors = PriorBoxes.Create(new SsdLiteOptions());
        priors.min().item<float>().Should().BeGreaterThanOrEqualTo(0);
        priors.max().item<float>().Should().Be(1f); // the last level's 320-px square is exactly the image
    }
}
