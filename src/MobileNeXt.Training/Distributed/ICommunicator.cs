using static TorchSharp.torch;

namespace MobileNeXt.Training.Distributed;

/// <summary>
/// The collective operations data-parallel training needs, and nothing else: the trainer calls only these, so a
/// single-process implementation, Open MPI, or later an accelerator-native one plug in without touching it.
/// Tensors are contiguous CPU tensors reduced in place.
/// </summary>
public interface ICommunicator : IDisposable
{
    /// <summary>This process's rank, 0 … <see cref="Size"/> − 1.</summary>
    int Rank { get; }

    /// <summary>Number of processes in the job.</summary>
    int Size { get; }

    /// <summary>Whether this is rank 0, the one that writes checkpoints, logs and plots.</summary>
    bool IsRoot => Rank == 0;

    /// <summary>Replaces <paramref name="tensor"/> on every rank with the element-wise sum over all ranks.</summary>
    void AllReduceSum(Tensor tensor);

    /// <summary>Replaces <paramref name="tensor"/> on every rank with rank <paramref name="root"/>'s values.</summary>
    void Broadcast(Tensor tensor, int root = 0);

    /// <summary>Returns once every rank has called it.</summary>
    void Barrier();
}

/// <summary>The communicator of a job with one process: every collective is the identity.</summary>
public sealed class SingleProcessCommunicator : ICommunicator
{
    /// <inheritdoc />
    public int Rank => 0;

    /// <inheritdoc />
    public int Size => 1;

    /// <inheritdoc />
    /// <remarks>Checks the tensor as <see cref="MpiCommunicator"/> does, so a one-process run rejects what a job would.</remarks>
    public void AllReduceSum(Tensor tensor) => MpiCommunicator.Memory(tensor, nameof(tensor));

    /// <inheritdoc />
    public void Broadcast(Tensor tensor, int root = 0)
    {
        MpiCommunicator.Memory(tensor, nameof(tensor));
        if (root != 0) throw new ArgumentOutOfRangeException(nameof(root), root, "A single-process job has only rank 0.");
    }

    /// <inheritdoc />
    public void Barrier() { }

    /// <inheritdoc />
    public void Dispose() { }
}
