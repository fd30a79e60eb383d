using MobileNeXt.Layers;
using MobileNeXt.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Core.Tests.Layers;

/// <summary>
/// <see cref="SafeBatchNorm2d"/> must be PyTorch's BatchNorm2d in everything but how it increments its step counter:
/// TorchSharp's own BatchNorm2d (libtorch's batch_norm) is the reference.
/// </summary>
public class SafeBatchNormTests
{
    [Fact]
    public void Should_match_TorchSharps_BatchNorm2d_in_training_and_eval_mode()
    {
        using var safe = new SafeBatchNorm2d(6);
        using var reference = nn.BatchNorm2d(6);
        using (no_grad())
        {
            var g = new Generator(3);
            safe.weight.copy_(rand(6, generator: g) + 0.5);
            safe.bias!.copy_(randn(6, generator: g));
            reference.weight!.copy_(safe.weight);
            reference.bias!.copy_(safe.bias);
        }
        var gen = new Generator(11);
        for (int step = 0; step < 3; step++)
        {
            using var x = randn(4, 6, 5, 5, generator: gen) * 3 + 1;
            using var a = safe.call(x);
            using var b = reference.call(x);
            a.allclose(b, rtol: 0, atol: 0).Should().BeTrue($"training-mode outputs agree at step {step}");
        }
        safe.running_mean!.allclose(reference.running_mean!, rtol: 0, atol: 0).Should().BeTrue();
        safe.running_var!.allclose(reference.running_var!, rtol: 0, atol: 0).Should().BeTrue();
        safe.num_batches_tracked!.item<long>().Should().Be(3);
        reference.num_batches_tracked!.item<long>().Should().Be(3);

        safe.eval();
        reference.eval();
        using var y = randn(2, 6, 5, 5, generator: gen);
        using var ya = safe.call(y);
        using var yb = reference.call(y);
        ya.allclose(yb, rtol: 0, atol: 0).Should().BeTrue("eval mode normalises with the running statistics");
        safe.num_batches_tracked!.item<long>().Should().Be(3, "eval mode counts nothing");
    }

    [Fact]
    public void Should_have_the_state_dict_keys_of_PyTorchs_BatchNorm2d()
    {
        using var safe = new SafeBatchNorm2d(4);
        using var reference = nn.BatchNorm2d(4);
        safe.state_dict().Keys.Should().BeEquivalentTo(reference.state_dict().Keys);
    }

    [Fact]
    public void Should_reject_an_input_that_is_not_4D()
    {
        using var safe = new SafeBatchNorm2d(4);
        using var x = randn(2, 4, 5);
        FluentActions.Invoking(() => safe.call(x)).Should().Throw<ArgumentException>().WithMessage("*4-D*3-D*");
    }

    [Theory]
    [InlineData("mobilenext_100")]
    [InlineData("mobilenext_uniform_100")]
    [InlineData("mobilenetv2_100")]
    public void Should_be_the_only_BatchNorm_in_the_registry_models(string name)
    {
        using var model = ModelRegistry.Create(name);
        var norms = model.modules().OfType<BatchNorm>().ToList();
        norms.Should().NotBeEmpty();
        norms.Should().AllBeOfType<SafeBatchNorm2d>("TorchSharp's BatchNorm2d passes finalizable temporary scalars to libtorch");
    }
}
