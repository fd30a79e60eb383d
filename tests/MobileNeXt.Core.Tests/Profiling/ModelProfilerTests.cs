using MobileNeXt.Architecture;
using MobileNeXt.Models;
using MobileNeXt.Profiling;

namespace MobileNeXt.Core.Tests.Profiling;

public class ModelProfilerTests
{
    [Theory]
    // architecture.md, "Numbers to pin": params and conv + linear MACs at 224², 1000 classes.
    [InlineData("mobilenext_140", 6_126_168, 588_319_256)]
    [InlineData("mobilenext_100", 3_535_416, 311_342_592)]
    [InlineData("mobilenext_075", 2_766_168, 207_926_720)]
    [InlineData("mobilenext_050", 2_152_304, 103_256_448)]
    [InlineData("mobilenext_035", 1_913_976, 75_141_032)]
    [InlineData("mobilenetv2_100", 3_504_872, 300_774_272)]
    public void Should_count_params_and_macs_exactly(string name, long parameters, long macs)
    {
        using var model = ModelRegistry.Create(name);
        var report = ModelProfiler.Profile(model);
        report.TotalParams.Should().Be(parameters);
        report.TotalMacs.Should().Be(macs);
        report.Layers.Sum(l => l.Params).Should().Be(parameters, "every parameter belongs to exactly one leaf layer");
    }

    [Fact]
    public void Should_count_a_conv_with_the_closed_form()
    {
        using var model = ModelRegistry.Create("mobilenext_100");
        var report = ModelProfiler.Profile(model);
        // Stem: Cout·Hout·Wout·(Cin/groups)·kh·kw = 32·112·112·3·3·3; the first dw: 32·112·112·1·3·3.
        report["features.0.0"].Macs.Should().Be(32L * 112 * 112 * 3 * 9);
        report["features.1.conv.0"].Macs.Should().Be(32L * 112 * 112 * 9);
        // The classifier: in·out = 1280·1000.
        report["classifier.1"].Macs.Should().Be(1280L * 1000);
    }

    [Fact]
    public void Should_match_table_2_output_shapes_at_224()
    {
        // architecture.md / Table 2: stage outputs at w = 1.0.
        var expected = new (int Size, int Channels)[] { (112, 32), (56, 96), (56, 144), (28, 192), (14, 288), (14, 384), (7, 576), (7, 960), (7, 1280) };
        using var model = new MobileNeXtNet();
        var report = ModelProfiler.Profile(model);
        var modules = new[] { "features.0" }.Concat(model.Plan.StageEnds.Select(i => $"features.{i + 1}")).ToList();
        modules.Should().HaveCount(expected.Length);
        for (int i = 0; i < expected.Length; i++)
            report[modules[i]].OutputShape.Should().Equal(1, expected[i].Channels, expected[i].Size, expected[i].Size);
    }

    [Fact]
    public void Should_count_shortcut_additions_by_alpha_but_not_macs()
    {
        using var full = new MobileNeXtNet(new MobileNeXtOptions { Width = 0.5 });
        using var half = new MobileNeXtNet(new MobileNeXtOptions { Width = 0.5, IdentityMultiplier = 0.5 });
        var a = ModelProfiler.Profile(full);
        var b = ModelProfiler.Profile(half);
        a.TotalMacs.Should().Be(b.TotalMacs);
        a.TotalParams.Should().Be(b.TotalParams);
        // Each shortcut block adds C·H·W at α = 1 and ⌊C/2⌋·H·W at α = 1/2 (Eq. 4).
        long fullAdds = full.Plan.Blocks.Zip(a.Modules.Where(m => m.Kind == "SandglassBlock"))
            .Where(p => p.First.HasShortcut).Sum(p => p.Second.OutputShape[1] * p.Second.OutputShape[2] * p.Second.OutputShape[3]);
        (a.TotalElementwiseOps - b.TotalElementwiseOps).Should().Be(fullAdds / 2);
    }
}
