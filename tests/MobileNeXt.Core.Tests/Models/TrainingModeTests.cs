using MobileNeXt.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Core.Tests.Models;

public class TrainingModeTests
{
    [Theory]
    [InlineData("mobilenext_050", 0.5)]
    [InlineData("mobilenext_uniform_050", 1.0)]
    [InlineData("mobilenetv2_050", 1.0)]
    public void Should_reach_every_parameter_with_a_nonzero_gradient(string name, double alpha)
    {
        using var model = ModelRegistry.Create(name, new ModelCreateOptions { NumClasses = 10, IdentityMultiplier = alpha, DropRate = 0 });
        model.train();
        using var scope = NewDisposeScope();
        var x = randn(4, 3, 64, 64, generator: new Generator(1));
        var target = tensor(new long[] { 0, 3, 5, 9 });
        var loss = nn.functional.cross_entropy(model.call(x), target);
        loss.backward();
        var named = model.named_parameters().ToList();
        named.Should().NotBeEmpty();
        foreach (var (key, p) in named)
        {
            p.grad.Should().NotBeNull(key);
            p.grad!.abs().sum().item<float>().Should().BeGreaterThan(0f, key);
        }
    }

    [Fact]
    public void Should_update_batchnorm_statistics_only_in_training_mode()
    {
        using var model = ModelRegistry.Create("mobilenext_035", new ModelCreateOptions { NumClasses = 10 });
        using var _ = no_grad();
        using var x = randn(2, 3, 64, 64, generator: new Generator(3));
        var tracked = model.state_dict()["features.0.1.num_batches_tracked"];
        model.eval();
        model.call(x).Dispose();
        tracked.item<long>().Should().Be(0);
        model.train();
        model.call(x).Dispose();
        tracked.item<long>().Should().Be(1);
    }
}
