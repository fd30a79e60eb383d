using MobileNeXt.Detection.Boxes;
using static TorchSharp.torch;

namespace MobileNeXt.Detection.Tests.Boxes;

public class SsdPostProcessorTests
{
    [Fact]
    public void Should_turn_the_reference_raw_outputs_into_the_reference_detections()
    {
        // The released post-processor's input (scores.npy, boxes.npy, priors.npy) and output (detections.json).
        var detections = new SsdPostProcessor(new SsdLiteOptions())
            .Process(TestSupport.Vectors["scores"], TestSupport.Vectors["boxes"], TestSupport.Vectors["priors"]);
        detections.Should().HaveCount(2);
        TestSupport.ShouldMatchAsASet(detections[0], TestSupport.ReferenceDetections());
        detections[0].Select(d => d.Score).Should().BeInDescendingOrder();
    }

    [Fact]
    public void Should_suppress_an_overlapping_box_of_the_same_class_only()
    {
        // Two priors with the same box (IoU 1), three classes: class 1 wins on prior 0, prior 1's class 1 is suppressed,
        // prior 1's class 2 survives (NMS is per class).
        using var priors = tensor(new[] { 0.5f, 0.5f, 0.2f, 0.2f, 0.5f, 0.5f, 0.2f, 0.2f }).view(2, 4);
        using var boxes = zeros(1, 2, 4);
        using var logits = tensor(new[] { 0f, 5f, 0f, 0f, 3f, 3f }).view(1, 2, 3);
        var options = new SsdLiteOptions { NumClasses = 3 };
        var found = new SsdPostProcessor(options, new PostProcessingOptions { ScoreThreshold = 0.3 }).Process(logits, boxes, priors)[0];
        found.Select(d => d.Label).Should().Equal(1, 2);
        found[0].X1.Should().BeApproximately(0.4f * 320, 1e-3f);
        found[0].X2.Should().BeApproximately(0.6f * 320, 1e-3f);
    }

    [Fact]
    public void Should_name_the_expected_shape_of_the_priors()
    {
        using var logits = zeros(1, 10, 21);
        using var boxes = zeros(1, 10, 4);
        using var priors = zeros(9, 4);
        var act = () => new SsdPostProcessor(new SsdLiteOptions()).Process(logits, boxes, priors);
        act.Should().Throw<ArgumentException>().WithMessage("*priors [10, 4]*[9, 4]*");
    }

    [Fact]
    public void Should_refuse_a_threshold_outside_its_range()
    {
        var act = () => new SsdPostProcessor(new SsdLiteOptions(), new PostProcessingOptions { NmsThreshold = 0 });
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*NmsThreshold*");
    }
}
