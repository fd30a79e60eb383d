using System.Runtime.InteropServices;
using TorchSharp;

namespace MobileNeXt;

/// <summary>
/// The native libtorch backend could not be loaded. The message is one sentence that names the cause and the fix.
/// </summary>
public sealed class NativeLibraryUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public NativeLibraryUnavailableException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>Checks, once, that TorchSharp's native backend loads, and explains why when it does not.</summary>
public static class TorchRuntime
{
    private static readonly Lazy<Exception?> Failure = new(Probe);

    /// <summary>
    /// Loads the native backend (by creating one tensor) or throws a <see cref="NativeLibraryUnavailableException"/>
    /// whose message names the cause and the fix.
    /// </summary>
    public static void EnsureAvailable()
    {
        if (Failure.Value is { } e) throw e;
    }

    private static Exception? Probe()
    {
        // When its native library fails to load, TorchSharp writes its whole search trace to standard output;
        // the exception we throw says what matters, so keep that trace out of the user's output.
        var output = Console.Out;
        Console.SetOut(TextWriter.Null);
        try
        {
            using var t = torch.zeros(1);
            DisableNnpack();
            return null;
        }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or NotSupportedException or BadImageFormatException or EntryPointNotFoundException)
        {
            return new NativeLibraryUnavailableException(Explain(e), e);
        }
        finally
        {
            Console.SetOut(output);
        }
    }

    private static int _retained;

    /// <summary>
    /// Makes glibc's <c>malloc</c> keep the memory libtorch frees and hand it out again, instead of returning every large
    /// tensor's pages to the kernel and faulting fresh zeroed pages in for the next one. Returns whether the setting was made
    /// (Linux with glibc); elsewhere, or when called again, nothing changes.
    /// </summary>
    /// <remarks>
    /// <para>libtorch's CPU tensors come from <c>malloc</c>. glibc serves every block above its mmap threshold (at most 32 MiB)
    /// with its own <c>mmap</c> and gives it back with <c>munmap</c> on free, so each activation of a batch-32 forward pass
    /// (a 32×96×112×112 tensor is 154 MB) is paid for again in page faults on every call. On the machines this project
    /// is measured on that made a batch-32 depthwise convolution 40× slower than the same call with memory reused
    /// (<c>bench/</c>: <c>inference</c> and <c>train-step</c>); PyTorch's CPU tuning guide recommends tcmalloc or jemalloc
    /// for the same reason.</para>
    /// <para>This is the in-process equivalent of <c>GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=…</c>:
    /// <c>mallopt(M_MMAP_MAX, 0)</c> serves large blocks from the heap, <c>mallopt(M_TRIM_THRESHOLD, 2³¹−1)</c> keeps
    /// freed heap memory, and <c>mallopt(M_ARENA_MAX, 1)</c> sends threads that have no arena yet to the main one. Blocks up to
    /// 64 MiB are then reused on every thread; larger ones only on threads of the main arena — the process's main thread,
    /// where a console app runs its model (glibc's other arenas grow by at most 64 MiB and still <c>mmap</c> beyond that).
    /// The process's resident memory stays at its peak rather than falling between steps — the trade every caching
    /// allocator makes. Call it once, at start, before other threads allocate (the <c>mobilenext</c> command and
    /// <c>Trainer</c> do).</para>
    /// </remarks>
    public static bool RetainFreedMemory()
    {
        if (!OperatingSystem.IsLinux() || Interlocked.Exchange(ref _retained, 1) == 1) return false;
        try
        {
            // glibc's <malloc.h>: M_TRIM_THRESHOLD -1, M_MMAP_MAX -4, M_ARENA_MAX -8; mallopt returns 1 on success.
            return MallOpt(-8, 1) == 1 & MallOpt(-4, 0) == 1 & MallOpt(-1, int.MaxValue) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false; // not glibc (musl has no mallopt): its allocator is left as it is
        }
    }

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int MallOpt(int parameter, int value);

    private delegate IntPtr GlobalContext();
    private delegate void SetUserEnabledNnpack(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    /// <summary>
    /// Turns NNPACK off, as PyTorch's <c>torch.backends.nnpack.set_flags(False)</c> does (TorchSharp 0.107 has no binding).
    /// libtorch tries NNPACK for batch-1 convolutions and, on CPUs NNPACK does not support (these AVX-512 machines),
    /// fails its initialisation and logs "Could not initialize NNPACK! Reason: Unsupported hardware." for every conv
    /// of every call; its other kernels serve either way. The setter is libtorch's exported C++ member
    /// <c>at::Context::setUserEnabledNNPACK(bool)</c> on <c>at::globalContext()</c> (Itanium ABI: <c>this</c> first).
    /// Where the symbols are not found (another OS or libtorch) nothing changes.
    /// </summary>
    private static void DisableNnpack()
    {
        if (!OperatingSystem.IsLinux() || !NativeLibrary.TryLoad("libtorch_cpu.so", out var library)) return;
        if (!NativeLibrary.TryGetExport(library, "_ZN2at13globalContextEv", out var context) ||
            !NativeLibrary.TryGetExport(library, "_ZN2at7Context20setUserEnabledNNPACKEb", out var setter)) return;
        var ctx = Marshal.GetDelegateForFunctionPointer<GlobalContext>(context)();
        Marshal.GetDelegateForFunctionPointer<SetUserEnabledNnpack>(setter)(ctx, false);
    }

    private static string Explain(Exception e)
    {
        // TorchSharp reports a libLibTorchSharp.so that fails to load for a missing symbol as a missing backend
        // package, so the libstdc++ check comes first.
        if (OperatingSystem.IsLinux() && LibStdCxx() is { } libstdcxx && !Contains(libstdcxx, "GLIBCXX_3.4.32"))
            return $"TorchSharp's native library cannot load because the libstdc++ in use ({libstdcxx}) is older than GCC 13's (it lacks GLIBCXX_3.4.32): " +
                   "on Debian 12 run './build.sh setup' as root, which installs Debian 13's libstdc++6, or use a distribution with GCC 13+ (Ubuntu 24.04, Debian 13, Fedora 39).";
        string all = string.Join(" | ", Chain(e).Select(x => x.Message));
        if (all.Contains("libtorch-", StringComparison.OrdinalIgnoreCase) && all.Contains("reference", StringComparison.OrdinalIgnoreCase))
            return "TorchSharp's native backend is missing from this application: add a libtorch package to the app project " +
                   "(e.g. <PackageReference Include=\"libtorch-cpu-linux-x64\" Version=\"2.10.0\" />, or libtorch-cpu for every OS).";
        return $"TorchSharp's native library could not be loaded ({Chain(e).Last().Message.Split('\n')[0]}); check that a libtorch-cpu package matching TorchSharp 0.107 is referenced and that its files are next to the application.";
    }

    private static IEnumerable<Exception> Chain(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException) yield return x;
    }

    /// <summary>The libstdc++ this process uses (the .NET runtime loads it), else the system's; null when unknown.</summary>
    private static string? LibStdCxx()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                int at = line.IndexOf('/');
                if (at >= 0 && line.Contains("libstdc++.so", StringComparison.Ordinal)) return line[at..].Trim();
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return new[] { "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/lib/aarch64-linux-gnu/libstdc++.so.6" }
            .FirstOrDefault(File.Exists);
    }

    private static bool Contains(string path, string text)
    {
        try
        {
            return File.ReadAllBytes(path).AsSpan().IndexOf(System.Text.Encoding.ASCII.GetBytes(text)) >= 0;
        }
        catch (IOException) { return true; } // unreadable: do not blame libstdc++
    }
}
