using MobileNeXt.Detection.Boxes;
using static TorchSharp.torch;

namespace MobileNeXt.Detection.Tests.Boxes;

/// <summary>
/// The training targets and the inference decoder agree: a box the matcher encodes against the 160² detector's priors
/// comes back out of <see cref="SsdPostProcessor"/> as the same box in pixels and the same class (label + 1), when the
/// "network" outputs exactly the targets (the ideal a trained detector approaches).
/// </summary>
public class TrainingTargetRoundTripTests
{
    [Fact]
    public void Should_decode_the_matchers_targets_back_to_the_ground_truth_in_pixels()
    {
        var options = SsdLiteOptions.ForImageSize(160, numClasses: 11);
        using var priors = PriorBoxes.Create(options);
        // Two garments in relative corners: [0.2, 0.3, 0.6, 0.8] of class 4 and [0.65, 0.05, 0.95, 0.25] of class 0.
        using var boxes = tensor(new[] { 0.2f, 0.3f, 0.6f, 0.8f, 0.65f, 0.05f, 0.95f, 0.25f }).view(2, 4);
        using var labels = tensor(new long[] { 4, 0 });
        var (targets, locations) = PriorMatcher.Match(boxes, labels, priors, 0.5, options.CenterVariance, options.SizeVariance);
        using (targets)
        using (locations)
        {
            // Logits that are the targets' one-hot × 10: softmax gives the target class e¹⁰ / (e¹⁰ + 10) ≈ 0.9995.
            using var logits = nn.functional.one_hot(targets, options.NumClasses).to(ScalarType.Float32).mul(10).unsqueeze(0);
            var found = new SsdPostProcessor(options, new PostProcessingOptions { ScoreThreshold = 0.5 })
                .Process(logits, locations.unsqueeze(0), priors)[0];

            // Every positive decodes to its garment, so NMS leaves one detection per garment: ×160 of the corners.
            found.Should().HaveCount(2);
            var first = found.Single(d => d.Label == 5);
            first.X1.Should().BeApproximately(32f, 1e-3f, "0.2 of 160 px");
            first.Y1.Should().BeApproximately(48f, 1e-3f, "0.3 of 160 px");
            first.X2.Should().BeApproximately(96f, 1e-3f, "0.6 of 160 px");
            first.Y2.Should().BeApproximately(128f, 1e-3f, "0.8 of 160 px");
            var second = found.Single(d => d.Label == 1);
            second.X1.Should().BeApproximately(104f, 1e-3f);
            second.Y1.Should().BeApproximately(8f, 1e-3f);
            second.X2.Should().BeApproximately(152f, 1e-3f);
            second.Y2.Should().BeApproximately(40f, 1e-3f);
            found.Should().OnlyContain(d => Math.Abs(d.Score - Math.Exp(10) / (Math.Exp(10) + 10)) < 1e-4);
        }
    }
}
