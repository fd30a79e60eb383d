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
        if (!OperatingSystem.IsLinux() || LoadedAllocator() is not null || Interlocked.Exchange(ref _retained, 1) == 1) return false;
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

    /// <summary>Set to <c>glibc</c> to keep glibc's <c>malloc</c>, or to a library's path to preload that one instead of tcmalloc.</summary>
    public const string AllocatorVariable = "MOBILENEXT_ALLOCATOR";

    private const string RestartedVariable = "MOBILENEXT_ALLOCATOR_RESTARTED";

    /// <summary>
    /// Restarts the process in place with tcmalloc serving <c>malloc</c> (gperftools' <c>libtcmalloc_minimal.so.4</c>,
    /// Debian's <c>libtcmalloc-minimal4</c>), when it is installed and not loaded yet, and returns whether it is in
    /// use. Call it first thing in <c>Main</c>, before the program prints, opens files or starts threads: on success
    /// it does not return but runs <c>Main</c> again, in the same process (same PID, arguments, environment and open
    /// standard streams; <c>execv</c> of <c>/proc/self/exe</c> with <c>LD_PRELOAD</c> set). Returns false, and changes
    /// nothing, elsewhere than Linux, when the library is not found, when <see cref="AllocatorVariable"/> is
    /// <c>glibc</c>, or when a restart already happened and the loader could not preload it.
    /// </summary>
    /// <exception cref="InvalidOperationException"><see cref="AllocatorVariable"/> names a file that does not exist.</exception>
    /// <remarks>
    /// <para>glibc's allocator, even with <see cref="RetainFreedMemory"/>, fragments under a training step's mix of
    /// 150 MB activations and small tensors: its heap kept growing for dozens of steps (a batch-32 mobilenext_100
    /// step's process went from 3.4 to 5.3 GB resident over 60 steps, and to 8 GB with libtorch's 1×1 kernel), and each
    /// step that grows it pays for fresh zeroed pages, 0.6–0.8 s of a 0.9 s step on these virtual machines.
    /// tcmalloc reuses freed memory by size class: the same process stays at 3.0 GB, without page faults after its first
    /// steps, and starts faster (<c>bench/</c>: <c>train-step-alone</c> prints each step's time and the page faults so
    /// far). PyTorch's CPU performance guide recommends tcmalloc or jemalloc for the same reason.</para>
    /// <para>Unless the environment sets them, tcmalloc keeps the memory it frees (<c>TCMALLOC_RELEASE_RATE=0</c>:
    /// returning it at <c>TCMALLOC_RELEASE_RATE=10</c> cost about 15,000 page faults per mobilenext_100 batch-32 step,
    /// and the step took 0.86 s against 0.57 s, in one run each of bench <c>train-step-alone 2 16</c>) and
    /// does not report allocations above 1 GB on stderr (<c>TCMALLOC_LARGE_ALLOC_REPORT_THRESHOLD</c>).</para>
    /// </remarks>
    public static bool UseTcmalloc()
    {
        if (!OperatingSystem.IsLinux()) return false;
        if (LoadedAllocator() is { } loaded) return loaded == "tcmalloc"; // another preloaded allocator is left in place
        string? choice = Environment.GetEnvironmentVariable(AllocatorVariable);
        if (choice == "glibc" || Environment.GetEnvironmentVariable(RestartedVariable) is not null) return false;
        string? library = string.IsNullOrEmpty(choice) ? FindTcmalloc() : choice;
        if (library is null) return false;
        if (!File.Exists(library))
            throw new InvalidOperationException(
                $"{AllocatorVariable} names '{library}', which does not exist; set it to an allocator library's path " +
                "(such as /usr/lib/x86_64-linux-gnu/libjemalloc.so.2), to 'glibc' for glibc's malloc, or unset it for tcmalloc where installed.");
        string[] argv;
        try
        {
            argv = File.ReadAllText("/proc/self/cmdline").Split('\0', StringSplitOptions.None)[..^1];
        }
        catch (IOException) { return false; }
        if (argv.Length == 0) return false;
        try
        {
            string? preload = Environment.GetEnvironmentVariable("LD_PRELOAD");
            SetEnv("LD_PRELOAD", string.IsNullOrEmpty(preload) ? library : library + ":" + preload, 1);
            SetEnv(RestartedVariable, "1", 1);
            SetEnv("TCMALLOC_LARGE_ALLOC_REPORT_THRESHOLD", "1152921504606846976", 0); // 2^60 bytes: never
            SetEnv("TCMALLOC_RELEASE_RATE", "0", 0); // keep freed memory, as RetainFreedMemory does for glibc
            Console.Out.Flush();
            Console.Error.Flush();
            var pointers = new IntPtr[argv.Length + 1];
            try
            {
                for (int i = 0; i < argv.Length; i++) pointers[i] = Marshal.StringToCoTaskMemUTF8(argv[i]);
                ExecV("/proc/self/exe", pointers); // returns only when it failed
            }
            finally
            {
                foreach (var p in pointers) Marshal.FreeCoTaskMem(p);
            }
            UnsetEnv("LD_PRELOAD");
            if (!string.IsNullOrEmpty(preload)) SetEnv("LD_PRELOAD", preload, 1);
            return false;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>
    /// The allocator library preloaded into this process (<c>tcmalloc</c>, <c>jemalloc</c> or <c>mimalloc</c>), or null when glibc's
    /// <c>malloc</c> serves it (or on another OS).
    /// </summary>
    public static string? LoadedAllocator() => Allocator.Value;

    // Preloading happens before a process starts, so what /proc/self/maps says once holds for the process's life.
    private static readonly Lazy<string?> Allocator = new(FindLoadedAllocator);

    private static string? FindLoadedAllocator()
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                if (line.Contains("/libtcmalloc", StringComparison.Ordinal)) return "tcmalloc";
                if (line.Contains("/libjemalloc", StringComparison.Ordinal)) return "jemalloc";
                if (line.Contains("/libmimalloc", StringComparison.Ordinal)) return "mimalloc";
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }

    /// <summary>One line on what serves libtorch's memory here, for logs and <c>mobilenext doctor</c>.</summary>
    public static string DescribeAllocator() => LoadedAllocator() is { } loaded
        ? $"{loaded} (preloaded)"
        : OperatingSystem.IsLinux()
            ? "glibc malloc" + (Volatile.Read(ref _retained) == 1 ? ", freed memory retained" : "") +
              (FindTcmalloc() is null ? "; install libtcmalloc-minimal4 (./build.sh setup) for steadier, faster training steps" : "")
            : "the system's malloc";

    private static string? FindTcmalloc()
    {
        string triplet = RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? "aarch64-linux-gnu" : "x86_64-linux-gnu";
        foreach (var dir in new[] { $"/usr/lib/{triplet}", $"/lib/{triplet}", "/usr/lib64", "/usr/lib", "/usr/local/lib" })
        foreach (var name in new[] { "libtcmalloc_minimal.so.4", "libtcmalloc.so.4" })
        {
            string path = Path.Combine(dir, name);
            if (File.Exists(path)) return path;
        }
        return null;
    }

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int SetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);

    [DllImport("libc", EntryPoint = "unsetenv")]
    private static extern int UnsetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name);

    [DllImport("libc", EntryPoint = "execv")]
    private static extern int ExecV([MarshalAs(UnmanagedType.LPUTF8Str)] string path, IntPtr[] argv);

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
