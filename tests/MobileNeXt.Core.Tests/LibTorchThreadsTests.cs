using MobileNeXt.Layers;
using static TorchSharp.torch;

namespace MobileNeXt.Core.Tests;

/// <summary>
/// <see cref="LibTorchThreads"/>: a loop on libtorch's own OpenMP threads. Alone: libtorch's thread count is
/// process-wide.
/// </summary>
[Collection(ProcessHeapCollection.Name)]
public sealed class LibTorchThreadsTests : IDisposable
{
    private readonly int _threads = get_num_threads();

    public void Dispose() => set_num_threads(_threads);

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(2, 7)]
    [InlineData(1, 5)]
    public void Should_run_every_iteration_once(int threads, int count)
    {
        set_num_threads(threads);
        var runs = new int[count];
        LibTorchThreads.For(count, k => Interlocked.Increment(ref runs[k]));
        runs.Should().AllBeEquivalentTo(1);
    }

    [Fact]
    public void Should_run_on_libtorchs_openmp_threads_where_libtorch_ships_libgomp()
    {
        if (!OperatingSystem.IsLinux()) return; // the libtorch-cpu-linux-x64 package's libgomp
        LibTorchThreads.UsesLibTorchThreads.Should().BeTrue("libtorch_cpu.so's libgomp exports GOMP_parallel");
        set_num_threads(2);
        int caller = Environment.CurrentManagedThreadId;
        var others = new System.Collections.Concurrent.ConcurrentBag<(int Id, bool Pool)>();
        LibTorchThreads.For(2, k =>
        {
            Thread.Sleep(50); // so that one thread cannot take both
            if (Environment.CurrentManagedThreadId != caller) others.Add((Environment.CurrentManagedThreadId, Thread.CurrentThread.IsThreadPoolThread));
        });
        others.Should().ContainSingle("one iteration on the caller, libgomp's master, the other on its worker");
        others.Single().Pool.Should().BeFalse("a libgomp thread, not one of .NET's pool");
    }

    [Fact]
    public void Should_hand_an_iterations_exception_to_the_caller()
    {
        set_num_threads(2);
        var act = () => LibTorchThreads.For(2, k => { if (k == 1) throw new InvalidOperationException("iteration 1"); });
        act.Should().Throw<InvalidOperationException>().WithMessage("iteration 1");
    }
}
