using TorchSharp;

namespace MobileNeXt.Layers;

/// <summary>
/// TorchSharp <see cref="Scalar"/>s that live for the whole process, for the hot paths that would otherwise make a
/// temporary one on every call.
/// </summary>
/// <remarks>
/// A TorchSharp <see cref="Scalar"/> holds its native handle as a bare pointer and frees it in a finalizer. A temporary —
/// the <c>1</c> in <c>t.add_(1)</c>, or the <c>alpha = 1</c> that <c>t.add_(other)</c> passes on — is unreachable once
/// its handle has been read, so a garbage collection started by another thread (a data worker) can finalize it while
/// libtorch is still reading it; libtorch then fails with "Unknown scalar type" or reads a wrong value. A process with
/// busy data workers on oversubscribed cores (several MPI ranks on one machine) met it after a few hundred steps.
/// A scalar held in a static field is never collected, so passing it explicitly closes that window.
/// </remarks>
public static class KeptScalars
{
    /// <summary>The integer 1 (a valid <c>alpha</c> for integer and floating tensors alike).</summary>
    public static readonly Scalar One = 1L.ToScalar();

    /// <summary>The floating-point 0 (DARTS's <c>none</c> operation multiplies by it).</summary>
    public static readonly Scalar Zero = 0.0.ToScalar();
}
