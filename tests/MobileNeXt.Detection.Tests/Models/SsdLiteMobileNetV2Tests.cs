using MobileNeXt.Detection.Tests.Export;
using static TorchSharp.torch;

namespace MobileNeXt.Detection.Tests.Models;

/// <summary>The same detector on torchvision's MobileNetV2 (Table 8's baseline).</summary>
public class SsdLiteMobileNetV2Tests
{
    [Fact]
    public void Should_tap_the_expansion_of_features_14_and_the_last_conv()
    {
        using var model = SsdLite.CreateMobileNetV2();
        model.Backbone.Taps.Should().Equal(new BackboneTap(14, true), new BackboneTap(18, false));
        model.eval();
        using var _ = no_grad();
        using var x = zeros(1, 3, 320, 320);
        var maps = model.Backbone.call(x);
        // MobileNetV2 paper, Sec. 6.2: the expansion of layer 15 at stride 16 (576 = 96 · 6 channels), the last layer at 32.
        maps[0].shape.Should().Equal(1, 576, 20, 20);
        maps[1].shape.Should().Equal(1, 1280, 10, 10);
        foreach (var m in maps) m.Dispose();
    }

    [Fact]
    public void Should_count_the_backbone_swap_in_params_and_MACs()
    {
        using var model = SsdLite.CreateMobileNetV2();
        var report = model.Profile();
        // Closed form. The taps have the MobileNeXt detector's widths (576 at 20², 1280 at 10²), so extras and heads are the
        // same: 3,476,308 − 2,254,416 params (manifest.json; the backbone row of followon-models.md §B) and 708,726,528 −
        // 632,780,800 MACs, MobileNeXt-1.0's conv MACs at 224² (311,342,592 − 1280·1000, architecture.md) × (320/224)², exact
        // because every map scales by 10/7. The backbone: torchvision's mobilenet_v2 without its classifier, 3,504,872 −
        // 1,281,000 params and (300,774,272 − 1,280,000) × (320/224)² MACs (architecture.md).
        long heads = 3_476_308 - 2_254_416, headMacs = 708_726_528 - (311_342_592L - 1_280_000) * 100 / 49;
        report.TotalParams.Should().Be(3_504_872 - 1_281_000 + heads).And.Be(3_445_764);
        report.TotalMacs.Should().Be((300_774_272L - 1_280_000) * 100 / 49 + headMacs).And.Be(687_158_528);
    }

    [Fact]
    public void Should_give_the_same_outputs_fused_and_in_ONNX_Runtime()
    {
        using var model = SsdLite.CreateMobileNetV2();
        model.eval();
        manual_seed(3);
        using var x = randn(1, 3, 320, 320);
        using var _ = no_grad();
        var (scores, boxes) = model.call(x);
        using var fused = model.Fuse();
        var (fusedScores, fusedBoxes) = fused.call(x);
        using var runner = new OnnxRuntimeRunner(model);
        var ort = runner.Run(x);
        using var ortScores = ort[0];
        using var ortBoxes = ort[1];
        ort[2].Dispose();
        // Folding and ONNX Runtime change float32 rounding only (the MobileNeXt detector's own checks hold to 5e-4).
        foreach (var (a, b) in new[] { (fusedScores, scores), (fusedBoxes, boxes), (ortScores, scores), (ortBoxes, boxes) })
            TestSupport.MaxAbsDiff(a, b).Should().BeLessThan(1e-4f);
        foreach (var t in new[] { scores, boxes, fusedScores, fusedBoxes }) t.Dispose();
    }
}
