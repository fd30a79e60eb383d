using MobileNeXt.Training.Data;
using static TorchSharp.torch;

namespace MobileNeXt.Training.Tests.Training;

/// <summary>The per-step seed of libtorch's generator (<see cref="Trainer.StepSeed"/>), which dropout and drop-path draw from.</summary>
public sealed class StepSeedTests
{
    [Fact]
    public void Should_give_rank_0_the_single_process_seed_so_one_process_runs_draw_as_before()
    {
        // The seed of (seed, step) alone that single-process runs, and their reproduced README figures, were made with.
        foreach (long step in new long[] { 0, 1, 17, 123_456 })
            Trainer.StepSeed(42, step, rank: 0).Should().Be(SeedMixer.Mix(42, 1, step));
    }

    [Fact]
    public void Should_give_every_rank_its_own_dropout_masks_at_the_same_step()
    {
        // Two ranks of a job run the same step on different images; drawing the same masks on both would correlate
        // their dropout noise, which one process on the whole batch never does.
        var masks = Enumerable.Range(0, 4).Select(rank =>
        {
            var generator = new Generator((ulong)Trainer.StepSeed(7, 100, rank));
            using var draw = rand(new long[] { 256 }, generator: generator);
            return draw.lt(0.5).data<bool>().ToArray();
        }).ToList();
        for (int a = 0; a < masks.Count; a++)
            for (int b = a + 1; b < masks.Count; b++)
                masks[a].Should().NotEqual(masks[b], $"ranks {a} and {b} must draw different masks");
    }
}
