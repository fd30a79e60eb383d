using System.Diagnostics;
using System.Runtime.CompilerServices;
using MobileNeXt.Interop;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Core.Tests;

/// <summary>Shared helpers: the native check, the reference fixtures, temporary folders.</summary>
internal static class TestSupport
{
    /// <summary>
    /// Runs before any test: if libtorch cannot load, every test fails with the one-sentence reason and fix
    /// rather than a TypeInitializationException stack.
    /// </summary>
    [ModuleInitializer]
    internal static void CheckNativeLibrary()
    {
        try { TorchRuntime.EnsureAvailable(); }
        catch (NativeLibraryUnavailableException e) { Console.Error.WriteLine("error: " + e.Message); }
        torch.set_num_threads(Math.Max(1, Environment.ProcessorCount));
    }

    public static string Fixture(string relative) => Path.Combine(AppContext.BaseDirectory, "Fixtures", relative);

    public static string ReferenceDir => Fixture("mobilenext_w050");

    private static readonly Lazy<Dictionary<string, Tensor>> vectors = new(() =>
    {
        TorchRuntime.EnsureAvailable();
        return ModelWeights.Read(Path.Combine(ReferenceDir, "vectors.pt"));
    });

    /// <summary>The reference vectors (input, logits, logits_iddiv2, logits_iddiv6, pooled); shared, do not dispose.</summary>
    public static IReadOnlyDictionary<string, Tensor> Vectors => vectors.Value;

    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "mobilenext-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static float MaxAbsDiff(Tensor a, Tensor b)
    {
        using var d = (a - b).abs().max();
        return d.item<float>();
    }

    /// <summary>Runs Debian's python3 (PyTorch 1.13 from python3-torch) on a script; returns stdout.</summary>
    public static string Python(string script, params string[] args)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string stdout = p.StandardOutput.ReadToEnd();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"python3 failed ({p.ExitCode}): {stderr}");
        return stdout;
    }
}
