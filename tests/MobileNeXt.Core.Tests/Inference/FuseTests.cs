using MobileNeXt.Architecture;
using MobileNeXt.Interop;
using MobileNeXt.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Core.Tests.Inference;

public class FuseTests
{
    private const float Tolerance = 1e-5f; // issue: fused outputs equal the unfused model's within 1e-5

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.5)]
    [InlineData(1.0 / 6)]
    public void Should_give_the_released_weights_outputs_without_batchnorm(double alpha)
    {
        using var model = new MobileNeXtNet(new MobileNeXtOptions { Width = 0.5, IdentityMultiplier = alpha });
        ModelWeights.Load(model, Path.Combine(TestSupport.ReferenceDir, "state_dict.pt")); // non-trivial BN statistics
        model.eval();
        using var fused = model.Fuse();
        fused.IsFused.Should().BeTrue();
        fused.modules().OfType<BatchNorm>().Should().BeEmpty();
        fused.modules().OfType<Conv2d>().Select(c => c.bias).Should().NotContainNulls();
        using var _ = no_grad();
        var x = TestSupport.Vectors["input"];
        using var expected = model.call(x);
        using var actual = fused.call(x);
        TestSupport.MaxAbsDiff(actual, expected).Should().BeLessThan(Tolerance);
    }

    [Theory]
    [InlineData("mobilenetv2_050")]
    [InlineData("mobilenext_uniform_035")]
    [InlineData("mobilenext_fig4a_100")]
    [InlineData("mobilenext_fig4b_100")]
    [InlineData("mobilenext_fig4c_100")]
    [InlineData("mobilenext_narrow_shortcut_100")]
    [InlineData("mobilenext_relu6_residual_100")]
    public void Should_fuse_every_family(string name)
    {
        using var model = ModelRegistry.Create(name, new ModelCreateOptions { NumClasses = 5 });
        using (no_grad())
        {
            // Give every BatchNorm non-trivial statistics and affine parameters, so the fold is exercised.
            var g = new Generator(11);
            foreach (var bn in model.modules().OfType<BatchNorm>())
            {
                bn.running_mean!.copy_(randn(bn.running_mean.shape, generator: g) * 0.1);
                bn.running_var!.copy_(rand(bn.running_var.shape, generator: g) + 0.5);
                bn.weight!.copy_(rand(bn.weight.shape, generator: g) + 0.5);
                bn.bias!.copy_(randn(bn.bias.shape, generator: g) * 0.1);
            }
        }
        model.eval();
        using var fused = model.Fuse();
        fused.NumClasses.Should().Be(5);
        fused.modules().OfType<BatchNorm>().Should().BeEmpty();
        using var _ = no_grad();
        using var x = randn(2, 3, 96, 96, generator: new Generator(2));
        using var expected = model.call(x);
        using var actual = fused.call(x);
        TestSupport.MaxAbsDiff(actual, expected).Should().BeLessThan(Tolerance);
    }

    [Fact]
    public void Should_leave_the_original_model_unchanged_and_trainable()
    {
        using var model = ModelRegistry.Create("mobilenext_035");
        using var fused = model.Fuse();
        model.modules().OfType<BatchNorm>().Should().NotBeEmpty();
        model.parameters().Should().OnlyContain(p => p.requires_grad);
        var act = () => fused.Fuse();
        act.Should().Throw<InvalidOperationException>().WithMessage("*already fused*");
    }
}
