using System.Diagnostics;
using System.Reflection;

namespace MobileNeXt.Training.Tests.Samples;

/// <summary>Runs an app this test project builds first (a sample, the CLI) in its own process, as a user runs it, so exit code and console are the user's.</summary>
internal static class BuiltApp
{
    /// <summary>Runs the app whose path the test assembly carries under <paramref name="key"/>; kills it after <paramref name="timeout"/>.</summary>
    public static (int ExitCode, string Stdout, string Stderr) Run(string key, TimeSpan timeout, params string[] arguments)
    {
        string app = typeof(BuiltApp).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
        File.Exists(app).Should().BeTrue($"the test project builds '{app}' before itself");
        // The same host that runs the tests (dotnet test sets DOTNET_HOST_PATH), not whichever dotnet is first on PATH.
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(app);
        foreach (var a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{Path.GetFileName(app)} {string.Join(' ', arguments)}' did not stop within {timeout.TotalSeconds:0} s");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>
    /// Asserts what a sample prints when Fashion-MNIST is not in <paramref name="missingFolder"/>: a non-zero exit, nothing on
    /// stdout, and one stderr line naming the missing file and the package, no stack trace.
    /// </summary>
    public static void ShouldSayFashionMnistIsMissing((int ExitCode, string Stdout, string Stderr) run, string missingFolder)
    {
        run.ExitCode.Should().NotBe(0);
        run.Stdout.Should().BeEmpty();
        run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().ContainSingle("the sample must say what is missing in one line, not a stack trace")
            .Which.Should().Match($"error: *'{Path.Combine(missingFolder, "train-images-idx3-ubyte.gz")}'*apt-get install dataset-fashion-mnist*");
        run.Stderr.Should().NotContain("   at ");
    }
}
