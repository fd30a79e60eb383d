using MobileNeXt.Training.Recipes;

namespace MobileNeXt.Training.Tests.Training;

public class RecipePresetsTests
{
    [Fact]
    public void Should_hold_the_MobileNeXt_dagger_run_as_the_efficient_preset()
    {
        // followon-models.md §A, "Recipe as actually run" (args.yaml), value by value.
        var o = RecipePresets.Get("Efficient");
        o.Should().BeSameAs(RecipePresets.Efficient);
        o.Model.Should().Be("mobilenext_se_100");
        o.Optimizer.Should().Be("rmsproptf");
        (o.RmsPropAlpha, o.Momentum, o.RmsPropEpsilon).Should().Be((0.9, 0.9, 1e-3));
        (o.LearningRate, o.ReferenceBatchSize, o.BatchSize).Should().Be((0.12, 128, 128));
        (o.Schedule, o.DecayRate, o.DecayEpochs).Should().Be(("step", 0.97, 2.4));
        (o.WarmupEpochs, o.WarmupStartLearningRate, o.Epochs).Should().Be((3, 1e-6, 500));
        (o.WeightDecay, o.DecayNormAndBias).Should().Be((1e-5, false));
        (o.LabelSmoothing, o.EmaDecay, o.ColorJitter).Should().Be((0.1, 0.9999, 0.4));
        o.Invoking(x => x.Validate()).Should().NotThrow();
        RecipePresets.Names.Should().Contain("efficient");
    }

    [Theory]
    [InlineData("adam", "*Optimizer must be 'sgd' or 'rmsproptf'*adam*")]
    [InlineData("RMSpropTF", "*Optimizer must be 'sgd' or 'rmsproptf' (lower case)*")]
    public void Should_name_the_optimizers_it_knows(string optimizer, string message) =>
        (RecipePresets.Efficient with { Optimizer = optimizer }).Invoking(x => x.Validate())
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage(message);

    [Fact]
    public void Should_say_what_to_change_for_options_that_do_not_fit_the_optimizer_or_schedule()
    {
        (RecipePresets.Efficient with { Nesterov = true }).Invoking(x => x.Validate())
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*Nesterov*SGD option*Nesterov = false*");
        (RecipePresets.Efficient with { CooldownEpochs = 10 }).Invoking(x => x.Validate())
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*cosine schedule*set it to 0*");
        (RecipePresets.Efficient with { Schedule = "exponential" }).Invoking(x => x.Validate())
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*Schedule must be 'cosine' or 'step'*");
        (RecipePresets.Efficient with { DecayEpochs = 0 }).Invoking(x => x.Validate())
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*DecayEpochs must be a positive*2.4*");
        (RecipePresets.Efficient with { RmsPropEpsilon = 0 }).Invoking(x => x.Validate())
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*RmsPropEpsilon must be a positive*");
    }
}
