namespace MobileNeXt.Training.Distributed;

/// <summary>Picks the communicator for how this process was started.</summary>
public static class Communicators
{
    /// <summary>Environment variables Open MPI's launcher (mpirun / PMIx) sets in every rank.</summary>
    public static readonly IReadOnlyList<string> LauncherVariables = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK"];

    /// <summary>Whether this process was started by mpirun (one of <see cref="LauncherVariables"/> is set).</summary>
    public static bool LaunchedByMpirun => LauncherVariables.Any(v => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(v)));

    /// <summary>
    /// An <see cref="MpiCommunicator"/> when the process was launched by mpirun, otherwise a
    /// <see cref="SingleProcessCommunicator"/> (so the same binary runs alone with world size 1). Under mpirun
    /// without Open MPI's libmpi.so.40 it throws an <see cref="MpiException"/> saying to install openmpi-bin.
    /// Call once per process, and dispose the result at the end on every rank.
    /// </summary>
    public static ICommunicator Create()
    {
        if (!LaunchedByMpirun) return new SingleProcessCommunicator();
        if (!MpiNative.TryLoad(out var error))
        {
            var evidence = string.Join(", ", LauncherVariables
                .Select(v => (v, Environment.GetEnvironmentVariable(v)))
                .Where(p => !string.IsNullOrEmpty(p.Item2))
                .Select(p => $"{p.v}={p.Item2}"));
            throw new MpiException(
                $"This process was started by mpirun ({evidence}) but Open MPI's runtime library {MpiNative.LibraryName} could not be loaded ({error}). " +
                "Install Open MPI 4 with 'apt-get install openmpi-bin' (Debian/Ubuntu), or run without mpirun for a single process.");
        }
        return new MpiCommunicator();
    }
}
