using MobileNeXt.Training.Checkpoints;
using Xunit.Abstractions;

namespace MobileNeXt.Distributed.Tests;

/// <summary>The trainer on two real ranks under mpirun (<see cref="TrainerScenarios"/>): files, exact resume, lock-step, failures.</summary>
[Collection(MpiCollection.Name)]
public sealed class TrainerMpiTests(MpiJob mpi, ITestOutputHelper log)
{
    // One 2-rank training job (straight run + interrupted-and-resumed run) serves several tests.
    private static JobResult? _training;

    private JobResult Training()
    {
        if (_training is null)
        {
            var job = mpi.Run("train");
            log.WriteLine($"train job: {job.Elapsed.TotalSeconds:F1} s");
            job.ExitCode.Should().Be(0, "the job must succeed; its output:\n{0}", job.Output);
            _training = job;
        }
        return _training;
    }

    [Fact]
    public void Two_rank_training_writes_one_checkpoint_set_from_rank_0_and_nothing_from_rank_1()
    {
        var job = Training();
        foreach (var run in new[] { "straight", "resumed" })
        {
            var folder = Path.Combine(job.OutDir, run);
            Directory.GetFiles(folder).Select(Path.GetFileName).Should().BeEquivalentTo(
                [CheckpointStore.LastFileName, CheckpointStore.BestFileName, "metrics.jsonl", "loss.png", "accuracy.png", "lr.png"],
                "rank 0 writes exactly one set, with no temporary leftovers");
            File.ReadAllLines(Path.Combine(folder, "metrics.jsonl")).Should().HaveCount(2, "one line per epoch, not one per rank");
            Directory.Exists(Path.Combine(job.OutDir, run + "-rank1")).Should().BeFalse("rank 1 must not create its output folder or write anything");
            using var checkpoint = TrainingCheckpoint.Read(Path.Combine(folder, CheckpointStore.LastFileName));
            checkpoint.WorldSize.Should().Be(2);
            checkpoint.StepsPerEpoch.Should().Be(4, "32 images per rank in batches of 8");
            checkpoint.Step.Should().Be(8);
        }
    }

    [Fact]
    public void Interrupted_on_rank_0_and_resumed_on_two_ranks_reproduces_the_straight_run_bit_for_bit()
    {
        var job = Training();
        for (var rank = 0; rank < 2; rank++)
        {
            var lines = job.Text($"train-rank{rank}.txt").Split('\n', StringSplitOptions.RemoveEmptyEntries);
            lines[0].Should().Be("straight: steps 8, per epoch 4, lr at step 0 0.05", "the LR is scaled to the global batch 2 × 8 = the reference 16 (per-rank 8 would give 0.025)");
            lines[1].Should().Be("first: interrupted True at step 4", "Ctrl+C on rank 0 alone stops both ranks together at the epoch boundary");
            lines[2].Should().Be("resumed: steps 8, interrupted False");
        }
        job.Bytes("resumed-state-rank0.bin").Should().Equal(job.Bytes("straight-state-rank0.bin"), "resuming must continue exactly (model and EMA)");
    }

    [Fact]
    public void Both_ranks_end_with_bit_identical_weights_and_statistics()
    {
        var job = Training();
        job.Bytes("straight-state-rank1.bin").Should().Equal(job.Bytes("straight-state-rank0.bin"));
        job.Bytes("resumed-state-rank1.bin").Should().Equal(job.Bytes("resumed-state-rank0.bin"));
    }

    [Fact]
    public void Resuming_a_two_rank_checkpoint_with_one_process_fails_with_one_clear_message()
    {
        var checkpoint = Path.Combine(Training().OutDir, "straight", CheckpointStore.LastFileName);
        var job = mpi.Run("train-resume", 1, checkpoint);
        log.WriteLine($"{job.Elapsed.TotalSeconds:F1} s, exit code {job.ExitCode}\n{job.Output}");
        job.ExitCode.Should().Be(1);
        job.Output.Should().Contain("was written by 2 ranks, but this run has 1").And.Contain("resume with mpirun -np 2");
        job.Output.Should().NotContain("was taken with", "the rank count is the cause, not the steps per epoch that follow from it");
    }

    [Fact]
    public void A_rank_that_throws_inside_training_ends_the_job_naming_the_rank()
    {
        var job = mpi.Run("train-throw");
        log.WriteLine($"{job.Elapsed.TotalSeconds:F1} s, exit code {job.ExitCode}\n{job.Output}");
        job.ExitCode.Should().NotBe(0);
        job.Output.Should().Contain("rank 1 of 2 failed").And.Contain("deliberate failure loading a training image inside the trainer");
        // Rank 0 waits in the step's all-reduce and would wait forever: the job ending (before MpiJob.Limit) shows MPI_Abort ended it.
        job.Elapsed.Should().BeLessThan(MpiJob.Limit);
    }

    [Fact]
    public void A_frozen_backbone_stays_bit_identical_to_the_initial_weights_on_both_ranks()
    {
        var job = mpi.Run("train-probe");
        log.WriteLine($"train-probe job: {job.Elapsed.TotalSeconds:F1} s");
        job.ExitCode.Should().Be(0, "the job must succeed; its output:\n{0}", job.Output);
        for (var rank = 0; rank < 2; rank++)
            job.Text($"probe-rank{rank}.txt").Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Should().Equal("replaced classifier: True", "backbone unchanged: True", "classes: 4");
        job.Bytes("probe-state-rank1.bin").Should().Equal(job.Bytes("probe-state-rank0.bin"), "the trained classifiers agree too");
    }

    [Fact]
    public void A_searched_cell_trains_on_two_ranks_in_lock_step_and_tests_on_the_whole_test_set()
    {
        var job = mpi.Run("train-darts");
        log.WriteLine($"train-darts job: {job.Elapsed.TotalSeconds:F1} s");
        job.ExitCode.Should().Be(0, "the job must succeed; its output:\n{0}", job.Output);
        job.Bytes("darts-state-rank1.bin").Should().Equal(job.Bytes("darts-state-rank0.bin"), "both ranks end with the same network");
        var rank0 = job.Text("darts-rank0.txt").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        rank0[0].Should().Be("steps 8, per epoch 4", "32 images per rank in batches of 8, 2 epochs");
        job.Text("darts-rank1.txt").Should().Be(job.Text("darts-rank0.txt"), "the test counts are summed over the ranks, so both log the same top-1/top-5");
        // One process testing the final network on all 15 images (DartsEvalTask.Test) gives the top-1/top-5 the two
        // ranks' shards (8 + 7 images) summed to; a rank reporting only its own shard would give k/8 or k/7.
        var alone = job.Text("darts-one-process.txt").Trim();
        alone.Should().EndWith("images 15");
        rank0[^1].Should().Be($"epoch 2: {alone[..alone.IndexOf(" images", StringComparison.Ordinal)]}");
    }

    [Fact]
    public void Bench_step_runs_on_two_ranks_and_prints_one_json_line_per_rank()
    {
        var job = mpi.Run("bench-step", 2, "1", "1", "2", "32", "mobilenext_035");
        log.WriteLine(job.Output);
        job.ExitCode.Should().Be(0, job.Output);
        job.Output.Split('\n').Count(l => l.Contains("{\"rank\":", StringComparison.Ordinal)).Should().Be(2);
        job.Output.Should().Contain("\"reattached\":0");
    }
}
