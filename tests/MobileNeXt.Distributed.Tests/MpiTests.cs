using System.Runtime.InteropServices;
using Xunit.Abstractions;

namespace MobileNeXt.Distributed.Tests;

/// <summary>Two real ranks under mpirun, each running <see cref="RankProgram"/>; the files they write are checked here.</summary>
[Collection(MpiCollection.Name)]
public sealed class MpiTests(MpiJob mpi, ITestOutputHelper log)
{
    private JobResult Succeeded(JobResult result)
    {
        log.WriteLine($"{result.Elapsed.TotalSeconds:F1} s");
        result.ExitCode.Should().Be(0, "the job must succeed; its output:\n{0}", result.Output);
        return result;
    }

    [Fact]
    public void AllReduce_sums_and_Broadcast_values_are_exact_on_both_ranks()
    {
        var job = Succeeded(mpi.Run("collectives"));
        for (var rank = 0; rank < 2; rank++)
        {
            job.Text($"world-rank{rank}.txt").Should().Be($"MpiCommunicator {rank} 2");
            var lines = job.Text($"collectives-rank{rank}.txt").Split('\n', StringSplitOptions.RemoveEmptyEntries);
            lines.Should().HaveCount(13).And.OnlyContain(l => l.EndsWith(": ok"), "rank {0} reported:\n{1}", rank, string.Join('\n', lines));
        }
    }

    [Fact]
    public void SGD_with_averaged_flat_gradients_leaves_both_ranks_bit_identical()
    {
        var job = Succeeded(mpi.Run("sgd"));
        string[] r0 = job.Text("sgd-rank0.txt").Split('\n'), r1 = job.Text("sgd-rank1.txt").Split('\n');
        r0[0].Should().NotBe(r1[0], "each rank trains on its own data, so the losses differ");
        job.Bytes("sgd-bn-before-rank0.bin").Should().NotEqual(job.Bytes("sgd-bn-before-rank1.bin"), "BatchNorm statistics differ before they are averaged");
        r0.Should().Contain(["synced: 14", "bn-averaged: 4", "attached: True", "reattached: 0"]);
        var state0 = job.Bytes("sgd-state-rank0.bin");
        state0.Should().Equal(job.Bytes("sgd-state-rank1.bin"), "parameters, momentum-driven updates and averaged BN buffers must match bit for bit");
    }

    [Fact]
    public void Two_ranks_on_half_batches_match_one_process_on_the_whole_batch()
    {
        var pair = Succeeded(mpi.Run("step"));
        var alone = Succeeded(mpi.RunAlone("step"));
        alone.Text("world-rank0.txt").Should().Be("SingleProcessCommunicator 0 1");
        pair.Bytes("step-size2-rank0.bin").Should().Equal(pair.Bytes("step-size2-rank1.bin"));
        var split = MemoryMarshal.Cast<byte, float>(pair.Bytes("step-size2-rank0.bin")).ToArray();
        var whole = MemoryMarshal.Cast<byte, float>(alone.Bytes("step-size1-rank0.bin")).ToArray();
        split.Should().HaveSameCount(whole);
        var worst = split.Zip(whole, (a, b) => Math.Abs(a - b)).Max();
        log.WriteLine($"largest parameter difference after 2 steps: {worst:E2}");
        worst.Should().BeLessThanOrEqualTo(1e-6f);
    }

    [Theory]
    [InlineData("throw", "deliberate failure in the throw scenario")]
    [InlineData("unhandled", "deliberate unhandled failure on a worker thread")]
    public void A_rank_that_throws_ends_the_whole_job_naming_the_rank(string scenario, string message)
    {
        var job = mpi.Run(scenario);
        log.WriteLine($"{job.Elapsed.TotalSeconds:F1} s, exit code {job.ExitCode}\n{job.Output}");
        job.ExitCode.Should().NotBe(0);
        // Open MPI's own "MPI_ABORT was invoked" notice is sometimes lost in the teardown; ours is flushed before the abort.
        job.Output.Should().Contain("rank 1 of 2 failed").And.Contain(message);
        // The other rank is blocked in a collective and would wait forever: that the job ended at all (Run throws at
        // MpiJob.Limit otherwise) shows MPI_Abort ended it. No time bound of its own, which a busy machine could break.
        job.Elapsed.Should().BeLessThan(MpiJob.Limit);
        job.Output.Should().Contain("   at ", "a failure that is not the user's input is a bug, and keeps its stack trace");
    }

    [Fact]
    public void A_rank_that_fails_on_bad_input_ends_the_job_with_one_line_and_no_stack_trace()
    {
        var job = mpi.Run("bad-input");
        log.WriteLine($"{job.Elapsed.TotalSeconds:F1} s, exit code {job.ExitCode}\n{job.Output}");
        job.ExitCode.Should().NotBe(0);
        job.Output.Should().Contain("rank 1 of 2 failed, ending the MPI job: ArgumentException: deliberate bad input in the bad-input scenario");
        job.Output.Should().NotContain("   at ", "bad input gets one sentence, as a single-process run prints it");
    }

    [Fact]
    public void The_same_program_without_mpirun_is_a_single_process_job()
    {
        var job = Succeeded(mpi.RunAlone("collectives"));
        job.Text("world-rank0.txt").Should().Be("SingleProcessCommunicator 0 1");
        job.Text("collectives-rank0.txt").Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().OnlyContain(l => l.EndsWith(": ok"));
    }

    [Fact]
    public void AllReduce_of_a_14_MB_gradient_buffer_between_two_ranks_is_timed()
    {
        var job = Succeeded(mpi.Run("bench"));
        var text = job.Text("bench.txt");
        log.WriteLine(text);
        text.Should().EndWith("exact True");
    }
}
