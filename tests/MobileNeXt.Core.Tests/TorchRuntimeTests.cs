using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace MobileNeXt.Core.Tests;

/// <summary>Alone: malloc's heap is process-wide, and a test running beside this one can take the freed block first.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessHeapCollection
{
    public const string Name = "process heap";
}

[Collection(ProcessHeapCollection.Name)]
public class TorchRuntimeTests
{
    [Fact]
    public void Should_keep_a_freed_large_tensor_in_the_heap_for_reuse()
    {
        if (!OperatingSystem.IsLinux()) return; // the setting is glibc's
        TorchRuntime.RetainFreedMemory();
        TorchRuntime.RetainFreedMemory().Should().BeFalse("the setting is made once per process");

        // 48 MiB is above glibc's largest mmap threshold (32 MiB): with its defaults the block is mmapped and unmapped on
        // free, leaving nothing free in the heap (glibc's mallinfo2: fordblks = free bytes malloc holds). It is also below
        // the 64 MiB a thread's own arena can grow by, so the test holds on whichever thread xunit runs it.
        const long Bytes = 48L << 20;
        using (var t = ones(Bytes / sizeof(float))) t.sum().Dispose();
        var info = ProcessHeap.MallInfo2();
        ((long)info.FreeBytes).Should().BeGreaterThanOrEqualTo(Bytes, "the freed tensor stays in malloc's heap, ready for the next one");
        ((long)info.MmappedBytes).Should().BeLessThan(Bytes, "no large tensor is served by its own mmap");
    }
}

/// <summary>glibc's own account of its heap (<c>mallinfo2</c>), for tests that measure what a process holds.</summary>
internal static class ProcessHeap
{
    [StructLayout(LayoutKind.Sequential)]
    internal struct MallocInfo
    {
        public nuint Arena, OrdinaryBlocks, SmallBlocks, MmappedBlocks, MmappedBytes, MaxAllocated, SmallFreeBytes, AllocatedBytes, FreeBytes, Releasable;
    }

    [DllImport("libc", EntryPoint = "mallinfo2")]
    internal static extern MallocInfo MallInfo2();

    /// <summary>Bytes glibc's malloc has handed out and not had back: in its arenas (uordblks) and mmapped alone (hblkhd).</summary>
    internal static long InUse()
    {
        var info = ProcessHeap.MallInfo2();
        return (long)info.AllocatedBytes + (long)info.MmappedBytes;
    }
}
