using System.Globalization;
using MobileNeXt.Training.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Training;

/// <summary>Turns <see cref="Recipes.TrainingOptions.Device"/> into the device a process trains on.</summary>
public static class TrainingDevice
{
    /// <summary>The variable Open MPI's launcher sets to a process's rank among the ranks on its node.</summary>
    public const string LocalRankVariable = "OMPI_COMM_WORLD_LOCAL_RANK";

    /// <summary>Whether <paramref name="device"/> is <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c> (N ≥ 0).</summary>
    public static bool IsWellFormed(string? device) => TryParse(device, out _, out _);

    /// <summary>
    /// The device of this process: <c>cpu</c> as is; <c>cuda:N</c> as is; <c>cuda</c> alone is GPU 0 in a single
    /// process, and under mpirun the GPU of the node-local rank (<see cref="LocalRankVariable"/>, else the rank) modulo
    /// the GPUs this process sees, so <c>mpirun -np G</c> on a node with G GPUs puts one rank on each.
    /// </summary>
    /// <exception cref="NotSupportedException">A GPU is asked for but the loaded libtorch has no CUDA or sees no GPU.</exception>
    /// <exception cref="ArgumentException">The text is not one of those forms, or names a GPU this process does not see.</exception>
    public static Device Resolve(string device, ICommunicator? communicator = null)
    {
        if (!TryParse(device, out bool cuda, out int? index))
            throw new ArgumentException($"Unknown device '{device}'; use cpu, cuda or cuda:N (N = 0, 1, …).", nameof(device));
        if (!cuda) return CPU;
        if (!torch.cuda.is_available())
            throw new NotSupportedException(
                $"Device '{device}' (--device, TrainingOptions.Device) asks for a CUDA GPU, but the libtorch this app loaded has no CUDA support or sees no GPU. " +
                "Reference a CUDA build of libtorch (a libtorch-cuda-* package instead of libtorch-cpu-*) on a machine with an NVIDIA driver, or train with --device cpu.");
        int count = torch.cuda.device_count();
        int chosen = index ?? (communicator is { Size: > 1 } ? LocalRank(communicator) % count : 0);
        if (chosen >= count)
            throw new ArgumentException($"Device '{device}' asks for GPU {chosen}, but this process sees {count} (0 … {count - 1}); pick one of those, or use --device cuda.", nameof(device));
        return new Device(DeviceType.CUDA, chosen);
    }

    private static int LocalRank(ICommunicator communicator) =>
        int.TryParse(Environment.GetEnvironmentVariable(LocalRankVariable), NumberStyles.None, CultureInfo.InvariantCulture, out int local)
            ? local : communicator.Rank;

    private static bool TryParse(string? device, out bool cuda, out int? index)
    {
        cuda = false;
        index = null;
        string text = device?.Trim().ToLowerInvariant() ?? "";
        if (text == "cpu") return true;
        if (text == "cuda") return cuda = true;
        if (text.StartsWith("cuda:", StringComparison.Ordinal)
            && int.TryParse(text.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out int n))
        {
            index = n;
            return cuda = true;
        }
        return false;
    }
}
