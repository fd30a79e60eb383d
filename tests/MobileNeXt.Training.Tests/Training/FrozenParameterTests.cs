using MobileNeXt.Training.Distributed;
using MobileNeXt.Training.Optimization;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Training.Tests.Training;

/// <summary>
/// The optimizers skip a frozen parameter (requires_grad false) even when it has a gradient tensor: with several
/// processes every parameter's grad is a view into the flat all-reduce buffer, zeroed, so a frozen one would otherwise
/// still take weight decay and momentum steps.
/// </summary>
public sealed class FrozenParameterTests
{
    [Theory]
    [InlineData("sgd")]
    [InlineData("rmsproptf")]
    public void Should_neither_move_nor_decay_a_frozen_parameter_whose_gradient_is_a_zeroed_flat_buffer_view(string optimizer)
    {
        using var scope = NewDisposeScope();
        using var model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2));
        var groups = ParameterGroups.Split(model, decayNormAndBias: true);
        using var flat = new FlatGradientBuffer(groups.All.Select(x => x.Parameter));
        using HandWrittenOptimizer step = optimizer == "sgd"
            ? groups.CreateSgd(0.1, momentum: 0.9, nesterov: false, weightDecay: 0.1)
            : groups.CreateRmsPropTf(0.1, alpha: 0.9, momentum: 0.9, epsilon: 1e-3, weightDecay: 0.1);
        var frozen = groups.All.Where(x => x.Name.StartsWith("0.", StringComparison.Ordinal)).ToList();
        var trained = groups.All.Where(x => x.Name.StartsWith("1.", StringComparison.Ordinal)).ToList();
        foreach (var (_, p) in frozen) p.requires_grad = false;
        var before = groups.All.ToDictionary(x => x.Name, x => x.Parameter.detach().clone());

        manual_seed(1);
        var x = randn(8, 4);
        for (int i = 0; i < 3; i++)
        {
            step.ZeroGrad();
            model.call(x).square().sum().backward();
            step.Step();
        }

        foreach (var (name, p) in frozen)
        {
            p.grad.Should().NotBeNull("the flat buffer gives every parameter a gradient view");
            p.grad!.count_nonzero().item<long>().Should().Be(0);
            p.eq(before[name]).all().item<bool>().Should().BeTrue($"frozen '{name}' must not move, not even by weight decay");
        }
        foreach (var (name, p) in trained)
            p.eq(before[name]).all().item<bool>().Should().BeFalse($"'{name}' trains");
        step.MomentumBuffers().Keys.Should().BeEquivalentTo(trained.Select(t => t.Name), "a frozen parameter gets no optimizer state");
    }
}
