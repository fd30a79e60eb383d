using MobileNeXt.Architecture;
using MobileNeXt.Interop;
using MobileNeXt.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Core.Tests.Interop;

/// <summary>
/// The released network, exactly: the reference PyTorch weights at width 0.5 load unchanged and reproduce the
/// reference implementation's eval-mode outputs (Fixtures/README.md; agreement within 1e-4 as the fixture states).
/// </summary>
public class ReleasedParityTests
{
    private const float Tolerance = 1e-4f;

    public static TheoryData<string, double, string> Cases()
    {
        var data = new TheoryData<string, double, string>();
        foreach (var file in new[] { "state_dict.pt", "checkpoint.pth.tar" })
        {
            data.Add(file, 1.0, "logits");
            data.Add(file, 1.0 / 2, "logits_iddiv2");
            data.Add(file, 1.0 / 6, "logits_iddiv6");
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Should_reproduce_the_reference_logits(string file, double alpha, string expected)
    {
        using var model = new MobileNeXtNet(new MobileNeXtOptions { Width = 0.5, IdentityMultiplier = alpha });
        ModelWeights.Load(model, Path.Combine(TestSupport.ReferenceDir, file));
        model.eval();
        using var _ = no_grad();
        using var logits = model.call(TestSupport.Vectors["input"]);
        TestSupport.MaxAbsDiff(logits, TestSupport.Vectors[expected]).Should().BeLessThan(Tolerance);
    }

    [Theory]
    [InlineData("state_dict.pt")]
    [InlineData("checkpoint.pth.tar")]
    public void Should_reproduce_the_reference_pooled_features(string file)
    {
        using var model = new MobileNeXtNet(new MobileNeXtOptions { Width = 0.5 });
        ModelWeights.Load(model, Path.Combine(TestSupport.ReferenceDir, file));
        model.eval();
        using var _ = no_grad();
        using var features = model.ForwardFeatures(TestSupport.Vectors["input"]);
        using var pooled = model.ForwardHead(features, preLogits: true);
        TestSupport.MaxAbsDiff(pooled, TestSupport.Vectors["pooled"]).Should().BeLessThan(Tolerance);
    }

    [Fact]
    public void Should_have_the_released_state_dict_keys_and_shapes()
    {
        var reference = ModelWeights.Read(Path.Combine(TestSupport.ReferenceDir, "state_dict.pt"));
        try
        {
            using var model = new MobileNeXtNet(new MobileNeXtOptions { Width = 0.5 });
            var ours = model.state_dict();
            ours.Should().HaveCount(446, "architecture.md: 446 entries at every width");
            ours.Keys.Should().BeEquivalentTo(reference.Keys);
            foreach (var (key, tensor) in ours)
            {
                tensor.shape.Should().Equal(reference[key].shape, key);
                tensor.dtype.Should().Be(reference[key].dtype, key);
            }
        }
        finally
        {
            foreach (var t in reference.Values) t.Dispose();
        }
    }

    [Fact]
    public void Should_give_wrong_logits_when_alpha_does_not_match()
    {
        // architecture.md: α is part of the configuration; a 1/2 checkpoint in an α = 1 model gives other outputs.
        using var model = new MobileNeXtNet(new MobileNeXtOptions { Width = 0.5 });
        ModelWeights.Load(model, Path.Combine(TestSupport.ReferenceDir, "state_dict.pt"));
        model.eval();
        using var _ = no_grad();
        using var logits = model.call(TestSupport.Vectors["input"]);
        TestSupport.MaxAbsDiff(logits, TestSupport.Vectors["logits_iddiv2"]).Should().BeGreaterThan(100 * Tolerance);
    }

    [Fact]
    public void Should_leave_loaded_parameters_trainable()
    {
        using var model = new MobileNeXtNet(new MobileNeXtOptions { Width = 0.5 });
        ModelWeights.Load(model, Path.Combine(TestSupport.ReferenceDir, "checkpoint.pth.tar"));
        model.parameters().Should().OnlyContain(p => p.requires_grad, "torchsharp-notes §5 trap A: PyTorch files store requires_grad=False");
    }
}
