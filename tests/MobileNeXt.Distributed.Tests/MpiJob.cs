using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace MobileNeXt.Distributed.Tests;

internal static class TestSupport
{
    /// <summary>If libtorch cannot load, say why in one sentence (with the fix) before any test runs.</summary>
    [ModuleInitializer]
    internal static void CheckNativeLibrary()
    {
        try { TorchRuntime.EnsureAvailable(); }
        catch (NativeLibraryUnavailableException e) { Console.Error.WriteLine("error: " + e.Message); }
    }
}

/// <summary>What one launch of the rank program produced.</summary>
public sealed record JobResult(int ExitCode, string Output, TimeSpan Elapsed, string OutDir)
{
    /// <summary>A result file's text.</summary>
    public string Text(string name) => File.ReadAllText(Path.Combine(OutDir, name));

    /// <summary>A result file's bytes.</summary>
    public byte[] Bytes(string name) => File.ReadAllBytes(Path.Combine(OutDir, name));
}

/// <summary>
/// Starts <see cref="RankProgram"/> (this test assembly) under <c>mpirun -np N</c> or alone. Finds mpirun, installing
/// Debian's openmpi-bin when it is missing and this is a root Debian/Ubuntu machine; otherwise every MPI test fails
/// with a message saying how to install it.
/// </summary>
public sealed class MpiJob : IDisposable
{
    /// <summary>
    /// How long a job may run before it counts as hung and is killed. A job here takes seconds on an idle 2-core machine;
    /// under load (parallel builds, other test projects) it took over 30 s, so the limit is generous: it exists only to
    /// turn a hang (a rank blocked in a collective forever) into a failure.
    /// </summary>
    public static readonly TimeSpan Limit = TimeSpan.FromMinutes(5);

    /// <summary>Locates (or installs) mpirun.</summary>
    public MpiJob()
    {
        Mpirun = FindOnPath("mpirun") ?? InstallOpenMpi() ?? throw new InvalidOperationException(
            "mpirun (Open MPI) is not installed, so the multi-process tests cannot run: install it with " +
            "'apt-get install openmpi-bin' (or run './build.sh mpi-test', which does that on Debian).");
    }

    /// <summary>Path of mpirun.</summary>
    public string Mpirun { get; }

    /// <summary>Where this test run's jobs write their files; removed when the tests end.</summary>
    private static readonly string Root = Path.Combine(Path.GetTempPath(), "mobilenext-mpi-tests", Environment.ProcessId.ToString());

    /// <summary>Removes the jobs' result files.</summary>
    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { }
    }

    /// <summary>Runs a scenario on <paramref name="ranks"/> processes under mpirun; <paramref name="arguments"/> go between the scenario and the outdir.</summary>
    public JobResult Run(string scenario, int ranks = 2, params string[] arguments) =>
        Launch(Mpirun, ["--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", ranks.ToString(), Dotnet, Worker, scenario, .. arguments], scenario + $"-np{ranks}");

    /// <summary>Runs a scenario as one plain process, as a user would without mpirun.</summary>
    public JobResult RunAlone(string scenario, params string[] arguments) => Launch(Dotnet, [Worker, scenario, .. arguments], scenario + "-alone");

    private static string Dotnet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    private static string Worker => typeof(RankProgram).Assembly.Location;

    private static JobResult Launch(string program, IReadOnlyList<string> arguments, string name)
    {
        var outDir = Path.Combine(Root, $"{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(outDir);
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        start.ArgumentList.Add(outDir);
        // The child decides MPI or not from these; never inherit them from whatever started the tests.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("OMPI_", StringComparison.Ordinal) || k.StartsWith("PMIX_", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(key);

        var output = new System.Text.StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        var clock = Stopwatch.StartNew();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(Limit))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new TimeoutException($"'{name}' did not finish within {Limit.TotalSeconds} s (a hung collective?). Output:\n{output}");
        }
        process.WaitForExit(); // drain the output streams
        return new JobResult(process.ExitCode, output.ToString(), clock.Elapsed, outDir);
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);

    /// <summary>On a root Debian/Ubuntu machine, installs openmpi-bin (idempotent: only called when mpirun is missing).</summary>
    private static string? InstallOpenMpi()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root" || FindOnPath("apt-get") is not { } aptGet) return null;
        Console.Error.WriteLine("[MobileNeXt.Distributed.Tests] mpirun is missing: installing Debian's openmpi-bin (apt-get install -y openmpi-bin)");
        foreach (var args in new[] { "install -y -qq openmpi-bin", "update -qq", "install -y -qq openmpi-bin" })
        {
            var start = new ProcessStartInfo(aptGet, args) { UseShellExecute = false };
            start.Environment["DEBIAN_FRONTEND"] = "noninteractive";
            using var p = Process.Start(start)!;
            p.WaitForExit();
            if (FindOnPath("mpirun") is { } found) return found;
        }
        return null;
    }
}

/// <summary>The MPI tests run one job at a time: two ranks already fill the two cores.</summary>
[CollectionDefinition(Name)]
public sealed class MpiCollection : ICollectionFixture<MpiJob>
{
    /// <summary>Collection name.</summary>
    public const string Name = "mpi";
}
