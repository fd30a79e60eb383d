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

    [Fact]
    public void Should_hold_BiTs_fine_tuning_rule_as_the_finetune_preset()
    {
        // google-research/big_transfer bit_pytorch/train.py and bit_hyperrule.py, value by value.
        var o = RecipePresets.Get("finetune");
        o.Should().BeSameAs(RecipePresets.FineTune);
        (o.LearningRate, o.ReferenceBatchSize).Should().Be((0.003, 512)); // SGD lr 0.003 at batch 512
        (o.Momentum, o.Nesterov, o.WeightDecay).Should().Be((0.9, false, 0.0)); // momentum 0.9, "no weight-decay!"
        o.MinCropScale.Should().Be(0.64); // 128² crops of 160² images
        (o.WarmupEpochs, o.WarmupStartLearningRate, o.Epochs).Should().Be((1, 0.0, 10)); // a short warm-up from 0, few epochs
        o.LearningRate.Should().BeLessThan(RecipePresets.Paper.LearningRate * o.ReferenceBatchSize / RecipePresets.Paper.ReferenceBatchSize,
            "fine-tuning steps more gently than training from scratch");
        o.Invoking(x => x.Validate()).Should().NotThrow();
        RecipePresets.Names.Should().Contain("finetune");
    }

    [Theory]
    [InlineData(3, 3, 0, "Epochs (3) must leave at least one cosine epoch after 3 warm-up and 0 cool-down epoch(s): raise --epochs to 4 or more (Epochs), or lower --warmup-epochs to 2 or less (WarmupEpochs)*")]
    [InlineData(12, 3, 10, "Epochs (12) must leave at least one cosine epoch after 3 warm-up and 10 cool-down epoch(s): raise --epochs to 14 or more (Epochs), or lower --warmup-epochs and --cooldown-epochs so that they add up to at most 11*")]
    public void Should_name_the_flags_that_fix_a_schedule_too_short_for_its_warm_up(int epochs, int warmup, int cooldown, string message) =>
        (RecipePresets.Released with { Epochs = epochs, WarmupEpochs = warmup, CooldownEpochs = cooldown }).Invoking(x => x.Validate())
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage(message);

    [Fact]
    public void Should_say_that_unfreezing_needs_a_frozen_backbone_and_an_epoch_inside_the_run()
    {
        (RecipePresets.FineTune with { UnfreezeAfterEpochs = 1 }).Invoking(x => x.Validate())
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*needs FreezeFeatures (--freeze-features)*");
        (RecipePresets.FineTune with { FreezeFeatures = true, UnfreezeAfterEpochs = 10 }).Invoking(x => x.Validate())
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*--unfreeze-after*[1, 9]*");
        var probe = RecipePresets.FineTune with { FreezeFeatures = true, UnfreezeAfterEpochs = 2 };
        Enumerable.Range(0, probe.Epochs).Select(probe.FeaturesFrozenAt).Should().Equal([true, true, false, false, false, false, false, false, false, false]);
    }
}
