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
}
