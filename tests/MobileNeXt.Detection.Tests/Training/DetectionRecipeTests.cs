using MobileNeXt.Training.Optimization;
using MobileNeXt.Training.Recipes;

namespace MobileNeXt.Detection.Tests.Training;

/// <summary>The <c>detection</c> preset against the released SSDLite recipe (followon-models.md §B, "Training").</summary>
public class DetectionRecipeTests
{
    [Theory]
    // One process at batch 24: peak 1e-3. Warm-up factor w(1 − s/1000) + s/1000 with w = 0.1333 (WarmupMultiStepLR, linear).
    [InlineData(24, 0, 1.333e-4)]          // 1e-3 × 0.1333
    [InlineData(24, 500, 5.6665e-4)]       // 1e-3 × (0.1333 × 0.5 + 0.5)
    [InlineData(24, 999, 9.991333e-4)]     // 1e-3 × (0.1333 × 0.001 + 0.999)
    [InlineData(24, 1000, 1e-3)]
    [InlineData(24, 39_999, 1e-3)]
    [InlineData(24, 40_000, 1e-4)]         // × 0.1 at 40k …
    [InlineData(24, 49_999, 1e-4)]
    [InlineData(24, 50_000, 1e-5)]         // … and again at 50k
    [InlineData(24, 59_999, 1e-5)]
    // The recipe's 4 GPUs × 24 = 96: 1e-3 × 4 GPUs = 4e-3 after warm-up.
    [InlineData(96, 0, 5.332e-4)]          // 4e-3 × 0.1333
    [InlineData(96, 20_000, 4e-3)]
    [InlineData(96, 45_000, 4e-4)]
    public void Should_give_the_released_rate_at_every_iteration(int globalBatch, long step, double expected)
    {
        var preset = RecipePresets.Get("detection");
        preset.Validate();
        var schedule = LearningRateSchedule.From(preset, stepsPerEpoch: 689, globalBatch); // VOC07+12 trainval: 16,551 images / 24
        schedule.At(step).Should().BeApproximately(expected, expected * 1e-9);
    }

    [Fact]
    public void Should_run_the_recipes_sixty_thousand_iterations_as_whole_epochs()
    {
        var preset = RecipePresets.Detection;
        (preset.Optimizer, preset.Momentum, preset.WeightDecay, preset.BatchSize).Should().Be(("sgd", 0.9, 5e-4, 24));
        preset.EpochsFor(689).Should().Be(88, "⌈60,000 / 689⌉");
        preset.EpochsFor(600).Should().Be(100);
        LearningRateSchedule.From(preset, 689, 24).TotalSteps.Should().Be(88 * 689);
    }

    [Fact]
    public void Should_drop_the_scenes_rate_where_the_recipe_does_in_proportion()
    {
        // The recipe drops at 40k and 50k of 60k iterations: 2/3 and 5/6 of the run. The scenes preset runs
        // 30 epochs of ⌊1000 scenes / 16⌋ = 62 steps = 1860 steps, so its drops belong at 1240 and 1550.
        var preset = RecipePresets.DetectionScenes;
        var schedule = LearningRateSchedule.From(preset, stepsPerEpoch: 1000 / preset.BatchSize, preset.BatchSize);
        schedule.TotalSteps.Should().Be(1860);
        schedule.At(1239).Should().BeApproximately(0.01, 1e-12);
        schedule.At(1240).Should().BeApproximately(1e-3, 1e-12);
        schedule.At(1549).Should().BeApproximately(1e-3, 1e-12);
        schedule.At(1550).Should().BeApproximately(1e-4, 1e-12);
    }

    [Fact]
    public void Should_validate_the_scenes_preset_and_say_what_is_wrong_with_a_bad_milestone_list()
    {
        RecipePresets.DetectionScenes.Validate();
        (RecipePresets.DetectionScenes with { DetectionMaxZoomOut = 0.5 }).Invoking(o => o.Validate())
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*DetectionMaxZoomOut must be at least 1*");
        (RecipePresets.Detection with { Milestones = [50_000, 40_000] }).Invoking(o => o.Validate())
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*Milestones must be positive iterations in ascending order*");
        (RecipePresets.Detection with { WarmupEpochs = 1 }).Invoking(o => o.Validate())
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*WarmupIterations belongs to the multistep schedule*");
    }
}
