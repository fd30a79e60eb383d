using static TorchSharp.torch;

namespace MobileNeXt;

/// <summary>
/// Channels-last ("NHWC") activations for TorchSharp, which has no <c>memory_format</c> argument: an N×C×H×W tensor
/// whose strides are those of an N×H×W×C array. libtorch's convolutions read the layout from the strides
/// (<c>suggest_memory_format</c>), so a model fed such a batch runs oneDNN's NHWC kernels end to end, and every
/// layer's output keeps the layout; parameters stay ordinarily contiguous, so weights, checkpoints and
/// PyTorch interop are unchanged.
/// </summary>
/// <remarks>
/// Measured on this project's 2-core AVX-512 machines (libtorch 2.10, oneDNN 3.7): the NCHW path reorders activations
/// to oneDNN's blocked layout and back around every convolution (about 440 reorders per MobileNeXt-1.0 training step);
/// the channels-last path has none. <c>bench/</c>'s <c>train-step</c> and <c>inference</c> scenarios measure the gain.
/// </remarks>
public static class MemoryLayout
{
    /// <summary>
    /// How this library's networks compute the pointwise (1×1, stride-1) convolutions of a channels-last batch.
    /// <see cref="PointwiseConvolutionPath.Auto"/> (the default) takes libtorch's kernel where a one-time check finds
    /// it right (<see cref="PointwiseConvolutionPath.Checked"/>) when tcmalloc or jemalloc serves the process's memory
    /// (<see cref="TorchRuntime.UseTcmalloc"/>), and the matrix product (<see cref="PointwiseConvolutionPath.MatrixProduct"/>,
    /// exact everywhere) under glibc's malloc, where the kernel's memory use fragments the heap (bench
    /// <c>train-step-pointwise</c> measures both).
    /// </summary>
    public static PointwiseConvolutionPath PointwiseConvolutions { get; set; } = PointwiseConvolutionPath.Auto;

    /// <summary>What <see cref="PointwiseConvolutions"/> comes to in this process: never <see cref="PointwiseConvolutionPath.Auto"/>.</summary>
    public static PointwiseConvolutionPath EffectivePointwiseConvolutions => Resolve(PointwiseConvolutions);

    /// <summary>What <paramref name="path"/> comes to in this process: <see cref="PointwiseConvolutionPath.Auto"/> by the allocator, any other path itself.</summary>
    public static PointwiseConvolutionPath Resolve(PointwiseConvolutionPath path) =>
        Resolve(path, TorchRuntime.LoadedAllocator() is "tcmalloc" or "jemalloc"); // mimalloc returned memory and faulted every step

    /// <summary><see cref="PointwiseConvolutionPath.Auto"/>'s rule: the checked kernel with a size-class allocator, else the matrix product.</summary>
    internal static PointwiseConvolutionPath Resolve(PointwiseConvolutionPath path, bool sizeClassAllocator) =>
        path != PointwiseConvolutionPath.Auto ? path
        : sizeClassAllocator ? PointwiseConvolutionPath.Checked
        : PointwiseConvolutionPath.MatrixProduct;

    /// <summary>
    /// How this library's BatchNorm layers compute a channels-last batch in training mode.
    /// <see cref="BatchNormPath.Auto"/> (the default) takes this library's kernel (<see cref="BatchNormPath.Fused"/>):
    /// closer to float64 than libtorch's channels-last kernel and faster, at one thread and at two.
    /// </summary>
    public static BatchNormPath BatchNorm { get; set; } = BatchNormPath.Auto;

    /// <summary>What <see cref="BatchNorm"/> comes to: never <see cref="BatchNormPath.Auto"/>.</summary>
    public static BatchNormPath EffectiveBatchNorm => Resolve(BatchNorm);

    /// <summary><see cref="BatchNormPath.Auto"/>'s rule: this library's kernel.</summary>
    internal static BatchNormPath Resolve(BatchNormPath path) => path != BatchNormPath.Auto ? path : BatchNormPath.Fused;

    /// <summary>
    /// A copy of the 4-D <paramref name="nchw"/> with channels-last strides (the same shape and values); a tensor that
    /// already has them is returned as an alias. The result belongs to the caller (or the active dispose scope).
    /// </summary>
    /// <exception cref="ArgumentException">The tensor is not 4-D.</exception>
    public static Tensor ToChannelsLast(Tensor nchw)
    {
        ArgumentNullException.ThrowIfNull(nchw);
        if (nchw.dim() != 4)
            throw new ArgumentException($"Channels-last needs an N×C×H×W tensor; got {nchw.dim()} dimensions ({string.Join("×", nchw.shape)}).", nameof(nchw));
        if (IsChannelsLast(nchw)) return nchw.alias();
        using var view = nchw.permute(0, 2, 3, 1);
        using var nhwc = view.contiguous();
        return nhwc.permute(0, 3, 1, 2);
    }

    /// <summary>
    /// Whether the 4-D <paramref name="tensor"/> is laid out as a dense N×H×W×C array (strides H·W·C, 1, W·C, C),
    /// the test libtorch's <c>is_contiguous(ChannelsLast)</c> makes, with dimensions of size 1 free to take any stride.
    /// </summary>
    public static bool IsChannelsLast(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.dim() != 4) return false;
        var shape = tensor.shape;
        var strides = tensor.stride();
        long expected = 1;
        foreach (int d in new[] { 1, 3, 2, 0 }) // C, W, H, N: innermost first
        {
            if (shape[d] != 1 && strides[d] != expected) return false;
            expected *= shape[d];
        }
        return true;
    }
}

/// <summary>How the pointwise convolutions of a channels-last batch are computed (<see cref="MemoryLayout.PointwiseConvolutions"/>).</summary>
public enum PointwiseConvolutionPath
{
    /// <summary>
    /// The matrix product over the N·H·W rows: exact everywhere. On this project's AVX-512 machines it runs in MKL's
    /// AVX2 path.
    /// </summary>
    MatrixProduct,

    /// <summary>
    /// libtorch's (oneDNN's) 1×1 kernel where it has been checked to agree with the matrix product for this shape,
    /// batch, thread count and, when training, gradient — once per combination — else the matrix product; layers of
    /// fewer than 1024 N·H·W rows (e.g. 2×2 maps at batch 64), where the kernel is slower, always take the matrix product. On some
    /// AVX-512 machines libtorch 2.10's kernel returned results 8–38 % off for some shapes. Where it is right, a
    /// mobilenext_100 training step with it ran 1.38× as fast as with the matrix product under tcmalloc, and at 0.66×
    /// under glibc's malloc, whose heap it made grow to twice the process's peak, paying page faults on the way.
    /// </summary>
    Checked,

    /// <summary>Always libtorch's kernel, unchecked.</summary>
    OneDnn,

    /// <summary>
    /// <see cref="Checked"/> when tcmalloc or jemalloc serves the process's memory, else <see cref="MatrixProduct"/>
    /// (the default; <see cref="MemoryLayout.EffectivePointwiseConvolutions"/> says which).
    /// </summary>
    Auto,
}

/// <summary>How BatchNorm layers compute a channels-last batch in training mode (<see cref="MemoryLayout.BatchNorm"/>).</summary>
public enum BatchNormPath
{
    /// <summary>
    /// <see cref="Fused"/>. The default. (It once meant <see cref="Fused"/> at one libtorch thread and
    /// <see cref="LibTorch"/> above; a checkpoint from then stores Auto, and resumes with <see cref="Fused"/>.)
    /// </summary>
    Auto,

    /// <summary>
    /// libtorch's <c>batch_norm</c>, then its ReLU6. Its channels-last kernel sums each thread's share of the N·H·W rows
    /// in float32, so at one thread mobilenext_100's layers came out 3e-7–4e-5 off float64 in relative L2, their input
    /// gradients up to 5e-3 (bench <c>batchnorm-layers 1</c>).
    /// </summary>
    LibTorch,

    /// <summary>
    /// This library's kernel: float32 sums over blocks of 32 rows added in float64, and the ReLU6 that follows a
    /// BatchNorm computed in the same pass in both directions (4e-8–7e-8 off on the same layers), run on libtorch's own
    /// threads. A mobilenext_100 224² batch-32 training step ran 1.07× as fast as with <see cref="LibTorch"/> at one
    /// thread and 1.02–1.15× at two, the 32² mobilenext_035 step 1.74× and 1.59× (bench <c>batchnorm-step</c>).
    /// </summary>
    Fused,
}
