using MobileNeXt.Training.Optimization;
using MobileNeXt.Training.Recipes;

namespace MobileNeXt.Training.Tests.Training;

public class LearningRateScheduleTests
{
    private const long StepsPerEpoch = 100;

    [Fact]
    public void Should_follow_the_papers_warmup_and_cosine_in_closed_form()
    {
        // Paper Sec. 4.1: lr 0.05 at batch 256, 3 warm-up epochs, cosine, 200 epochs. Global batch 512 → 0.1 (linear scaling).
        var s = LearningRateSchedule.From(RecipePresets.Paper, StepsPerEpoch, globalBatchSize: 512);
        s.PeakLearningRate.Should().BeApproximately(0.1, 1e-15);
        s.At(0).Should().Be(0);                                                   // warm-up starts at 0 (our choice; Sec. 4.1 gives none)
        s.At(150).Should().BeApproximately(0.1 * 150 / 300, 1e-15);               // halfway through 3 × 100 warm-up steps
        s.At(300).Should().BeApproximately(0.1, 1e-15);                           // warm-up end = cosine start = peak
        long mid = 300 + (200 * StepsPerEpoch - 300) / 2;                         // cosine midpoint: cos(π/2) = 0
        s.At(mid).Should().BeApproximately(0.05, 1e-12);
        s.At(200 * StepsPerEpoch - 1).Should().BeApproximately(0, 1e-6);          // anneals to 0
    }

    [Fact]
    public void Should_follow_the_released_warmup_cosine_and_cooldown()
    {
        // Released code (architecture.md): lr 0.1 at 512, warm-up from 1e-4 over 3 epochs, cosine to 1e-5, 10 cool-down epochs of 210.
        var s = LearningRateSchedule.From(RecipePresets.Released, StepsPerEpoch, globalBatchSize: 512);
        s.At(0).Should().Be(1e-4);
        s.At(300).Should().BeApproximately(0.1, 1e-15);
        long cooldown = 200 * StepsPerEpoch;
        long mid = 300 + (cooldown - 300) / 2;
        s.At(mid).Should().BeApproximately(1e-5 + 0.5 * (0.1 - 1e-5), 1e-12);
        s.At(cooldown).Should().Be(1e-5);
        s.At(210 * StepsPerEpoch - 1).Should().Be(1e-5);
        s.TotalSteps.Should().Be(210 * StepsPerEpoch);
    }

    [Fact]
    public void Should_scale_the_rate_linearly_with_the_global_batch() =>
        LearningRateSchedule.ScaledLearningRate(0.1, 128, 512).Should().BeApproximately(0.025, 1e-15);

    [Fact]
    public void Should_follow_the_efficient_warmup_and_step_decay_in_closed_form()
    {
        // args.yaml (followon-models.md §A): lr 0.12 (at 128 per process here), 3 warm-up epochs from 1e-6, then
        // ×0.97 every 2.4 epochs counted from epoch 0 (timm's decay_rate ** (epoch // 2.4)), 500 epochs.
        var s = LearningRateSchedule.From(RecipePresets.Efficient, StepsPerEpoch, globalBatchSize: 128);
        s.At(0).Should().Be(1e-6);
        s.At(150).Should().BeApproximately(1e-6 + (0.12 - 1e-6) * 0.5, 1e-15);  // halfway through warm-up
        s.At(299).Should().BeLessThan(0.12);                                      // still warming up
        s.At(300).Should().BeApproximately(0.1164, 1e-15);                        // epoch 3.0: ⌊3 / 2.4⌋ = 1 decay, 0.12·0.97
        s.At(479).Should().BeApproximately(0.1164, 1e-15);                        // epoch 4.79: still 1
        s.At(480).Should().BeApproximately(0.112908, 1e-15);                      // epoch 4.8 = 2 × 2.4: 0.12·0.97²
        s.At(720).Should().BeApproximately(0.12 * 0.912673, 1e-15);               // epoch 7.2 = 3 × 2.4: 0.97³ = 0.912673
        s.At(500 * StepsPerEpoch - 1).Should().BeApproximately(0.12 * Math.Pow(0.97, 208), 1e-15); // ⌊499.99 / 2.4⌋ = 208
        s.TotalSteps.Should().Be(500 * StepsPerEpoch);
    }

    [Fact]
    public void Should_scale_the_efficient_rate_from_its_reference_batch_of_128() =>
        LearningRateSchedule.From(RecipePresets.Efficient, StepsPerEpoch, globalBatchSize: 1024).At(300)
            .Should().BeApproximately(0.12 * 8 * 0.97, 1e-15);
}
