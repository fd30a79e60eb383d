using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;

namespace MobileNeXt.Cli.Tests;

/// <summary>What one run of <c>mobilenext</c> gave: its exit code and everything it printed.</summary>
internal sealed record CliResult(string Command, int ExitCode, string Stdout, string Stderr)
{
    /// <summary>Stdout's lines, without the empty ones.</summary>
    public string[] Lines => Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The cells of every table row stdout draws (Spectre's '│'-separated lines), trimmed.</summary>
    public IReadOnlyList<string[]> TableRows => Stdout.Split('\n')
        .Where(l => l.StartsWith('│'))
        .Select(l => l.Trim().Trim('│').Split('│').Select(c => c.Trim()).ToArray())
        .ToList();

    /// <summary>The table row whose first cell is <paramref name="first"/>.</summary>
    public string[] Row(string first) =>
        TableRows.Should().ContainSingle(r => r[0] == first, $"'{Command}' prints one row for {first}").Subject;

    /// <summary>Asserts a successful run and returns it.</summary>
    public CliResult ShouldSucceed()
    {
        ExitCode.Should().Be(0, $"'{Command}' succeeds; it printed:\n{Stdout}\n{Stderr}");
        Stderr.Should().BeEmpty();
        return this;
    }

    /// <summary>
    /// Asserts the user's view of a bad input: exit code 1 for a runtime error or 2 for a parse error, and stderr whose
    /// first line is <c>error: </c> followed by a message matching <paramref name="pattern"/> (wildcards * and ?), no stack trace.
    /// </summary>
    public void ShouldFailWith(int exitCode, string pattern)
    {
        ExitCode.Should().Be(exitCode, $"'{Command}' exits with {exitCode}; it printed:\n{Stdout}\n{Stderr}");
        string[] lines = Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().NotBeEmpty();
        lines[0].Should().StartWith("error: ");
        lines[0].Should().Match("error: " + pattern);
        Stderr.Should().NotContain("   at ", "a bad input gets a sentence, not a stack trace");
    }
}

/// <summary>
/// Runs the <c>mobilenext</c> command as a user runs it, in its own process (the dll the test project builds first),
/// so exit codes, stdout, stderr and signals are the user's.
/// </summary>
internal static class Cli
{
    /// <summary>
    /// Long enough that a slow or busy machine never hits it (the longest run here takes about 30 s on two cores),
    /// short enough that a hung command fails the test instead of the whole run.
    /// </summary>
    public static readonly TimeSpan HangLimit = TimeSpan.FromMinutes(10);

    /// <summary>Debian's libtcmalloc-minimal4, which ./build.sh setup installs; the command restarts under it where it is.</summary>
    public const string Tcmalloc = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4";

    private static string Dll
    {
        get
        {
            string dll = typeof(Cli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "MobileNeXtCli").Value!;
            File.Exists(dll).Should().BeTrue($"the test project builds the command to '{dll}' before itself");
            return dll;
        }
    }

    /// <summary>Runs <c>mobilenext <paramref name="arguments"/></c> to its end.</summary>
    public static CliResult Run(params string[] arguments)
    {
        using var process = Start(arguments);
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        return Finish(process, arguments, stdout, stderr);
    }

    /// <summary>Runs <c>mobilenext <paramref name="arguments"/></c> to its end with <paramref name="environment"/> added to the environment.</summary>
    public static CliResult RunWith(IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        using var process = Start(environment, arguments);
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        return Finish(process, arguments, stdout, stderr);
    }

    /// <summary>Starts <c>mobilenext <paramref name="arguments"/></c> with stdout and stderr redirected.</summary>
    public static Process Start(params string[] arguments) => Start(new Dictionary<string, string>(), arguments);

    private static Process Start(IReadOnlyDictionary<string, string> environment, string[] arguments)
    {
        // The same host that runs the tests (dotnet test sets DOTNET_HOST_PATH), not whichever dotnet is first on PATH.
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Dll);
        foreach (var a in arguments) start.ArgumentList.Add(a);
        foreach (var (name, value) in environment) start.Environment[name] = value;
        return Process.Start(start)!;
    }

    /// <summary>Waits for a started run within <see cref="HangLimit"/> and collects its output.</summary>
    public static CliResult Finish(Process process, string[] arguments, Task<string> stdout, Task<string> stderr)
    {
        if (!process.WaitForExit(HangLimit))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'mobilenext {string.Join(' ', arguments)}' did not end within {HangLimit.TotalMinutes} minutes");
        }
        process.WaitForExit(); // and the output pipes drained
        return new CliResult("mobilenext " + string.Join(' ', arguments), process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>
    /// Runs <c>mobilenext <paramref name="arguments"/></c>, sends SIGINT as soon as it prints a line that satisfies
    /// <paramref name="when"/> (as a user watching it would press Ctrl+C), and collects the whole run.
    /// </summary>
    public static CliResult InterruptWhen(string[] arguments, Func<string, bool> when)
    {
        using var process = Start(arguments);
        var stderr = process.StandardError.ReadToEndAsync();
        var seen = new System.Text.StringBuilder();
        while (process.StandardOutput.ReadLine() is { } line)
        {
            seen.AppendLine(line);
            if (when(line)) break;
        }
        Interrupt(process);
        var stdout = process.StandardOutput.ReadToEndAsync().ContinueWith(t => seen + t.Result);
        return Finish(process, arguments, stdout, stderr);
    }

    /// <summary>Sends SIGINT, what Ctrl+C in a terminal sends.</summary>
    public static void Interrupt(Process process)
    {
        kill(process.Id, 2).Should().Be(0, "kill(pid, SIGINT) reaches the running command");
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
