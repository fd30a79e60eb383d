using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Training.Distributed;

/// <summary>Makes every rank hold the same weights.</summary>
public static class ParameterSync
{
    /// <summary>
    /// Overwrites every parameter and persistent buffer of <paramref name="module"/> (including BatchNorm running
    /// statistics and batch counters) with rank <paramref name="root"/>'s values, so all ranks start from one model.
    /// Tensors are packed per dtype into one flat tensor each, so this is a handful of broadcasts, not one per tensor.
    /// Every rank must call it with the same architecture. Returns the number of tensors synchronised.
    /// </summary>
    public static int BroadcastFrom(nn.Module module, ICommunicator communicator, int root = 0)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(communicator);
        var tensors = module.parameters().Cast<Tensor>().Concat(module.named_buffers().Select(b => b.buffer)).ToList();
        if (communicator.Size == 1) return tensors.Count;
        Packed.Run(tensors, flat => communicator.Broadcast(flat, root));
        return tensors.Count;
    }
}

/// <summary>Keeps BatchNorm's running statistics equal across ranks.</summary>
public static class BatchNormSync
{
    /// <summary>
    /// Replaces every <c>running_mean</c> and <c>running_var</c> buffer in <paramref name="module"/> with its average
    /// over all ranks (one all-reduce per dtype), so evaluation and checkpoints see the same statistics everywhere.
    /// Each rank's statistics come from its own shard, so call this before evaluating or saving. The averaged variance
    /// is the mean of the ranks' running variances (as timm's distribute_bn does), not a re-computed pooled variance.
    /// Every rank must call it. Returns the number of buffers averaged.
    /// </summary>
    public static int AverageRunningStats(nn.Module module, ICommunicator communicator)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(communicator);
        var stats = module.named_buffers()
            .Where(b => b.name.EndsWith("running_mean", StringComparison.Ordinal) || b.name.EndsWith("running_var", StringComparison.Ordinal))
            .Select(b => b.buffer)
            .ToList();
        if (communicator.Size == 1 || stats.Count == 0) return stats.Count;
        Packed.Run(stats, flat =>
        {
            communicator.AllReduceSum(flat);
            using var size = ((long)communicator.Size).ToScalar(); // held until the call returns (KeptScalars explains why)
            flat.div_(size);
        });
        return stats.Count;
    }
}

/// <summary>Runs a collective over many tensors as one flat host tensor per dtype, copying the result back (to any device).</summary>
internal static class Packed
{
    internal static void Run(IReadOnlyList<Tensor> tensors, Action<Tensor> collective)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        // Group by dtype in first-seen order: every rank builds the same groups in the same order.
        foreach (var group in tensors.Where(t => t.numel() > 0).GroupBy(t => t.dtype))
        {
            var members = group.ToList();
            // The communicators reduce host memory: tensors on a GPU are gathered into one host tensor (.cpu() of a
            // CPU tensor is the tensor itself, so on the CPU this is the one cat it always was).
            var flat = cat(members.Select(t => t.reshape(-1).cpu()).ToList(), 0);
            collective(flat);
            var offset = 0L;
            foreach (var t in members)
            {
                t.copy_(flat.narrow(0, offset, t.numel()).view_as(t));
                offset += t.numel();
            }
        }
    }
}
