using System.Diagnostics;
using System.Text.Json;

namespace MobileNeXt.Bench;

/// <summary>Runs bench/pytorch/peer.py with Debian's PyTorch and reads its JSON answer.</summary>
internal static class PyTorchPeer
{
    /// <summary>Runs the peer with the glibc settings <see cref="TorchRuntime.RetainFreedMemory"/> makes in this process.</summary>
    public static bool RetainFreedMemory { get; set; }

    public static (string Version, double Seconds) Run(params string[] args)
    {
        string script = Path.Combine(AppContext.BaseDirectory, "pytorch", "peer.py");
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (RetainFreedMemory)
            psi.Environment["GLIBC_TUNABLES"] = "glibc.malloc.arena_max=1:glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=2147483647";
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start /usr/bin/python3");
        string stdout = p.StandardOutput.ReadToEnd();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"The PyTorch peer failed (install Debian's python3-torch: apt-get install python3-torch): {stderr}");
        using var json = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]);
        return (json.RootElement.GetProperty("torch").GetString()!, json.RootElement.GetProperty("seconds").GetDouble());
    }
}
