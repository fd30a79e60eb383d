using MobileNeXt.Models;
using MobileNeXt.Training.Optimization;

namespace MobileNeXt.Training.Tests.Training;

public class ParameterGroupsTests
{
    [Fact]
    public void Should_exempt_batchnorm_and_biases_in_the_released_recipe()
    {
        using var model = ModelRegistry.Create("mobilenext_035", new ModelCreateOptions { NumClasses = 10 });
        var groups = ParameterGroups.Split(model, decayNormAndBias: false);
        var decay = groups.Decay.Select(x => x.Name).ToList();
        var noDecay = groups.NoDecay.Select(x => x.Name).ToList();

        decay.Should().Contain(["features.0.0.weight", "features.1.conv.0.weight", "classifier.1.weight"]); // convs and the linear weight
        noDecay.Should().Contain(["features.0.1.weight", "features.0.1.bias", "classifier.1.bias"]);       // BN γ, β and the bias
        decay.Should().OnlyContain(n => !n.EndsWith(".bias"));
        groups.Decay.Should().OnlyContain(x => x.Parameter.dim() > 1);
        groups.NoDecay.Should().OnlyContain(x => x.Parameter.dim() == 1);
        (decay.Count + noDecay.Count).Should().Be(model.parameters().Count());
    }

    [Fact]
    public void Should_decay_everything_in_the_paper_recipe()
    {
        using var model = ModelRegistry.Create("mobilenext_035", new ModelCreateOptions { NumClasses = 10 });
        var groups = ParameterGroups.Split(model, decayNormAndBias: true);
        groups.NoDecay.Should().BeEmpty();
        groups.Decay.Should().HaveCount(model.parameters().Count());
    }
}
