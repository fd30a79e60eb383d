using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace MobileNeXt.Layers;

/// <summary>
/// Runs a loop's iterations on libtorch's own OpenMP threads, the way ATen's <c>at::parallel_for</c> does, by calling the
/// <c>GOMP_parallel</c> of the libgomp that libtorch loaded; .NET's pool when that library is not there.
/// </summary>
/// <remarks>
/// <para>Why not <see cref="Parallel.For(int, int, Action{int})"/>: between two ATen ops libtorch's OpenMP worker threads
/// spin waiting for the next one (libgomp's <c>GOMP_SPINCOUNT</c>), so on a machine with as many cores as threads a .NET
/// pool thread doing a share of the work between two ops waits for a core that a spinning thread holds. A
/// mobilenext_100 training step at two threads with this library's BatchNorm on .NET's pool ran at 0.94× the speed of
/// libtorch's BatchNorm (<c>batchnorm-step 2 10</c>, one run on an uncommitted build) although the BatchNorm layers alone were faster.</para>
/// <para>Hand-written: TorchSharp does not expose libtorch's thread pool, and no library here does. The iterations run
/// through an <see cref="UnmanagedCallersOnlyAttribute"/> callback on native threads (the runtime attaches them on their
/// first call); an exception thrown by an iteration is caught there and rethrown to the caller once the team is done.</para>
/// <para>libgomp keeps one team per calling thread, so these are the threads libtorch's own ops use on the same calling
/// thread (the training loop's); called from another thread, a loop gets that thread's team, as an ATen op there would.</para>
/// </remarks>
internal static unsafe class LibTorchThreads
{
    private static readonly delegate* unmanaged<delegate* unmanaged<nint, void>, nint, uint, uint, void> GompParallel;
    private static readonly delegate* unmanaged<int> ThreadNumber;
    private static readonly delegate* unmanaged<int> TeamSize;

    static LibTorchThreads()
    {
        // libtorch_cpu is loaded by TorchSharp before any tensor exists; dlopen by soname returns that same library, and
        // dlsym on it searches its dependencies, libgomp (under whatever hashed file name the package gives it) among them.
        if (!NativeLibrary.TryLoad("libtorch_cpu.so", out var libtorch)) return;
        if (NativeLibrary.TryGetExport(libtorch, "GOMP_parallel", out var parallel)
            && NativeLibrary.TryGetExport(libtorch, "omp_get_thread_num", out var number)
            && NativeLibrary.TryGetExport(libtorch, "omp_get_num_threads", out var size))
        {
            GompParallel = (delegate* unmanaged<delegate* unmanaged<nint, void>, nint, uint, uint, void>)parallel;
            ThreadNumber = (delegate* unmanaged<int>)number;
            TeamSize = (delegate* unmanaged<int>)size;
        }
    }

    /// <summary>Whether iterations run on libtorch's OpenMP threads (false: on .NET's pool).</summary>
    public static bool UsesLibTorchThreads => GompParallel != null;

    /// <summary>
    /// Runs <paramref name="body"/>(0 … <paramref name="count"/>−1), each once, on as many of libtorch's threads as
    /// there are iterations (<see cref="get_num_threads"/> at most); returns when all are done, rethrowing the first
    /// exception an iteration threw.
    /// </summary>
    public static void For(int count, Action<int> body)
    {
        int threads = Math.Min(count, get_num_threads());
        if (threads <= 1)
        {
            for (int k = 0; k < count; k++) body(k);
            return;
        }
        if (GompParallel == null)
        {
            try
            {
                Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = threads }, body);
            }
            catch (AggregateException e) when (e.InnerExceptions.Count > 0)
            {
                ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw(); // as from libtorch's threads: the iteration's own
            }
            return;
        }
        var work = new Work(count, body);
        var handle = GCHandle.Alloc(work);
        try
        {
            GompParallel(&Run, GCHandle.ToIntPtr(handle), (uint)threads, 0);
        }
        finally
        {
            handle.Free();
        }
        work.Error?.Throw();
    }

    private sealed class Work(int count, Action<int> body)
    {
        public readonly int Count = count;
        public readonly Action<int> Body = body;
        public ExceptionDispatchInfo? Error;
    }

    [UnmanagedCallersOnly]
    private static void Run(nint state)
    {
        var work = (Work)GCHandle.FromIntPtr(state).Target!;
        try
        {
            // each thread takes every team-size-th iteration, so all run whatever team libgomp gives (it may give fewer
            // threads than asked for: OMP_DYNAMIC, thread limits)
            int team = TeamSize(), k = ThreadNumber();
            for (; k < work.Count; k += team) work.Body(k);
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref work.Error, ExceptionDispatchInfo.Capture(e), null);
        }
    }
}
