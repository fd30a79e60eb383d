using MobileNeXt.Detection.Boxes;
using static TorchSharp.torch;

namespace MobileNeXt.Detection.Tests.Boxes;

public class BoxCoderTests
{
    [Fact]
    public void Should_decode_what_it_encodes()
    {
        using var priors = PriorBoxes.Create(new SsdLiteOptions());
        manual_seed(1);
        using var centres = rand(3234, 2);
        using var sizes = rand(3234, 2) * 0.9 + 0.05;
        using var boxes = cat([centres, sizes], 1);
        using var codes = BoxCoder.Encode(boxes, priors, 0.1, 0.2);
        using var decoded = BoxCoder.Decode(codes, priors, 0.1, 0.2);
        TestSupport.MaxAbsDiff(decoded, boxes).Should().BeLessThan(1e-5f);
    }

    [Fact]
    public void Should_decode_a_zero_regression_to_the_prior_and_scale_by_the_variances()
    {
        using var prior = tensor(new[] { 0.5f, 0.4f, 0.2f, 0.1f }).view(1, 4);
        // SSD's coding by hand: centre = p_c + d · v_c · p_size, size = p_size · exp(d · v_s).
        using var codes = tensor(new[] { 0f, 0f, 0f, 0f, 1f, -2f, 0.5f, 1f }).view(2, 4);
        using var decoded = BoxCoder.Decode(codes, prior, 0.1, 0.2);
        var expected = new[] { 0.5f, 0.4f, 0.2f, 0.1f, 0.5f + 0.1f * 0.2f, 0.4f - 2 * 0.1f * 0.1f, 0.2f * MathF.Exp(0.1f), 0.1f * MathF.Exp(0.2f) };
        decoded.data<float>().ToArray().Should().Equal(expected, (a, b) => Math.Abs(a - b) < 1e-6f);
    }

    [Fact]
    public void Should_convert_between_corners_and_centre_size()
    {
        using var corners = tensor(new[] { 10f, 20f, 50f, 100f }).view(1, 4);
        using var centre = BoxCoder.ToCentreSize(corners);
        centre.data<float>().ToArray().Should().Equal(30f, 60f, 40f, 80f);
        using var back = BoxCoder.ToCorners(centre);
        back.data<float>().ToArray().Should().Equal(10f, 20f, 50f, 100f);
    }

    [Fact]
    public void Should_say_what_is_wrong_with_a_box_tensor_of_the_wrong_width()
    {
        using var bad = zeros(3, 5);
        var act = () => BoxCoder.ToCorners(bad);
        act.Should().Throw<ArgumentException>().WithMessage("*4 values in the last dimension*[3, 5]*");
    }
}
