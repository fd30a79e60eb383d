using MobileNeXt.Training.Distributed;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Distributed.Tests;

/// <summary>The single-process half: what needs no mpirun.</summary>
public sealed class LocalTests
{
    [Fact]
    public void Without_mpirun_Create_gives_a_single_process_communicator()
    {
        Communicators.LaunchedByMpirun.Should().BeFalse("the tests themselves are not started by mpirun");
        using var comm = Communicators.Create();
        comm.Should().BeOfType<SingleProcessCommunicator>();
        comm.Size.Should().Be(1);
        comm.IsRoot.Should().BeTrue();
    }

    [Fact]
    public void Backward_accumulates_straight_into_the_flat_buffer_and_optimizer_zero_grad_zeroes_it_in_place()
    {
        torch.manual_seed(3);
        var model = RankProgram.PlainNet();
        var parameters = model.parameters().ToList();
        using var flat = new FlatGradientBuffer(parameters);
        flat.ElementCount.Should().Be(parameters.Sum(p => p.numel()));
        var x = randn(4, 3, 8, 8);

        model.forward(x).sum().backward();
        flat.IsAttached().Should().BeTrue("libtorch accumulates into a pre-set grad in place");
        var once = flat.Buffer.clone();
        once.abs().sum().item<float>().Should().BeGreaterThan(0);
        using (var expected = cat(parameters.Select(p => p.grad!.reshape(-1)).ToList(), 0))
            flat.Buffer.allclose(expected, rtol: 0, atol: 0).Should().BeTrue("the grads are views of the buffer");

        model.forward(x).sum().backward();
        flat.Buffer.allclose(once * 2, rtol: 1e-5, atol: 1e-6).Should().BeTrue("a second backward accumulates into the same memory");

        using var optimizer = MobileNeXt.Training.Optimization.ParameterGroups.Split(model, decayNormAndBias: true).CreateSgd(0.1, 0.9, nesterov: false, weightDecay: 0);
        optimizer.ZeroGrad();
        flat.IsAttached().Should().BeTrue();
        flat.Buffer.count_nonzero().item<long>().Should().Be(0);
    }

    [Fact]
    public void Module_zero_grad_detaches_the_grads_and_AverageGradients_puts_them_back()
    {
        torch.manual_seed(4);
        var model = RankProgram.PlainNet();
        using var flat = new FlatGradientBuffer(model.parameters());
        model.zero_grad(); // TorchSharp sets the grads to null here
        flat.IsAttached().Should().BeFalse();
        model.forward(randn(2, 3, 8, 8)).sum().backward();
        using var comm = new SingleProcessCommunicator();
        flat.AverageGradients(comm);
        flat.IsAttached().Should().BeTrue();
        flat.Reattached.Should().Be(flat.Parameters.Count);
        flat.Buffer.abs().sum().item<float>().Should().BeGreaterThan(0, "the fresh gradients were copied into the buffer");
    }

    [Fact]
    public void A_grad_replaced_by_other_memory_of_the_same_shape_is_detected_and_reattached()
    {
        torch.manual_seed(6);
        var model = RankProgram.PlainNet();
        using var flat = new FlatGradientBuffer(model.parameters());
        model.forward(randn(2, 3, 8, 8)).sum().backward();
        var last = flat.Parameters[^1];
        using (var own = last.grad!.clone()) last.grad = own; // same shape and values, its own storage
        flat.IsAttached().Should().BeFalse("the check compares storage and offset, not shape");
        using var comm = new SingleProcessCommunicator();
        flat.AverageGradients(comm);
        flat.Reattached.Should().Be(1);
        flat.IsAttached().Should().BeTrue();
    }

    [Fact]
    public void Staging_through_host_memory_averages_exactly_as_the_in_place_reduce()
    {
        // The GPU path (buffer on the device, one host copy reduced and copied back), forced on the CPU. The fake
        // second rank contributes 1 to every element, so the average is (g + 1) / 2 on either path.
        torch.manual_seed(7);
        var model = RankProgram.PlainNet();
        var x = randn(2, 3, 8, 8);
        using var direct = new FlatGradientBuffer(model.parameters());
        direct.StagesThroughHost.Should().BeFalse("CPU parameters reduce in place");
        model.forward(x).sum().backward();
        using var gradient = direct.Buffer.clone();
        using var comm = new OnesFromAnotherRank();
        direct.AverageGradients(comm);
        using var expected = (gradient + 1) / 2;
        direct.Buffer.allclose(expected, rtol: 0, atol: 0).Should().BeTrue();

        using var staged = new FlatGradientBuffer(model.parameters(), stageThroughHost: true);
        staged.StagesThroughHost.Should().BeTrue();
        staged.Buffer.allclose(direct.Buffer, rtol: 0, atol: 0).Should().BeTrue("the existing grads were copied in");
        staged.Buffer.copy_(gradient);
        staged.AverageGradients(comm);
        staged.Buffer.allclose(expected, rtol: 0, atol: 0).Should().BeTrue("host copy, reduce, divide, copy back");
        staged.IsAttached().Should().BeTrue("the result was copied into the buffer the grads view");
        comm.Calls.Should().Be(2);
    }

    /// <summary>A two-rank communicator whose other rank holds ones: all-reduce adds 1 to every element.</summary>
    private sealed class OnesFromAnotherRank : ICommunicator
    {
        public int Calls { get; private set; }
        public int Rank => 0;
        public int Size => 2;
        public void AllReduceSum(Tensor tensor)
        {
            tensor.device_type.Should().Be(DeviceType.CPU, "collectives get host memory");
            Calls++;
            tensor.add_(1);
        }
        public void Broadcast(Tensor tensor, int root = 0) { }
        public void Barrier() { }
        public void Dispose() { }
    }

    [Fact]
    public void Flat_buffer_needs_one_dtype()
    {
        var a = new Parameter(zeros(3));
        var b = new Parameter(zeros(3, dtype: ScalarType.Float64));
        var act = () => new FlatGradientBuffer([a, b]);
        act.Should().Throw<ArgumentException>().WithMessage("*one dtype*");
    }

    [Fact]
    public void Single_process_sync_helpers_leave_the_model_unchanged()
    {
        torch.manual_seed(5);
        var model = RankProgram.BnNet();
        var before = RankProgram.StateBytes(model);
        using var comm = new SingleProcessCommunicator();
        ParameterSync.BroadcastFrom(model, comm).Should().Be(14);
        BatchNormSync.AverageRunningStats(model, comm).Should().Be(4);
        RankProgram.StateBytes(model).Should().Equal(before);
    }

    [Fact]
    public void Outside_an_MPI_job_AbortOnException_rethrows_the_original_error()
    {
        var act = () => MpiCommunicator.AbortOnException(() => throw new FormatException("boom"));
        var error = Console.Error;
        using var captured = new StringWriter();
        Console.SetError(captured);
        try
        {
            act.Should().Throw<FormatException>().WithMessage("boom");
        }
        finally
        {
            Console.SetError(error);
        }
        captured.ToString().Should().NotContain("boom", "a single process reports its error once, through its caller");
    }
}
