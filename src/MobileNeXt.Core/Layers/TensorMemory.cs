using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Layers;

/// <summary>The address of a float32 CPU tensor's first element, for code that reads or writes its memory directly.</summary>
internal static class TensorMemory
{
    /// <summary>
    /// The address of <paramref name="t"/>'s first element (its storage's data plus its storage offset); valid while
    /// <paramref name="t"/> is alive.
    /// </summary>
    /// <remarks>
    /// TorchSharp's <c>storage&lt;T&gt;()</c> wraps the tensor in a new handle that <c>Storage.Dispose</c> does not free, so
    /// it would live in the caller's dispose scope (or until the finaliser) and keep the tensor's memory with it: in this
    /// library's BatchNorm kernel that kept every layer's input and incoming gradient to the end of a training step. The
    /// handle is freed here at once.
    /// </remarks>
    public static IntPtr Address(Tensor t)
    {
        // storage<float>() of another dtype would convert it: the address of a temporary copy
        if (t.dtype != ScalarType.Float32 || t.device_type != DeviceType.CPU)
            throw new ArgumentException($"Needs a float32 CPU tensor; got {t.dtype} on {t.device}.", nameof(t));
        using var scope = NewDisposeScope();
        return t.storage<float>().data_ptr() + (nint)(t.storage_offset() * sizeof(float));
    }
}
