using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Layers;

/// <summary>The conv, norm and activation layers both networks are made of, with PyTorch's defaults spelled out.</summary>
internal static class ConvLayers
{
    /// <summary>
    /// A k×k conv with "same" padding. <paramref name="groups"/> = channels makes it depthwise. Bias-free, as every conv
    /// followed by BatchNorm; a fused network's convs carry the folded BatchNorm as their bias.
    /// </summary>
    public static Conv2d Conv(long input, long output, long kernel, long stride = 1, long groups = 1, bool fused = false) =>
        nn.Conv2d(input, output, kernel, stride: stride, padding: kernel / 2, groups: groups, bias: fused);

    /// <summary>BatchNorm2d with PyTorch's eps 1e-5 and momentum 0.1 (architecture.md); in a fused network, an Identity placeholder.</summary>
    public static nn.Module<Tensor, Tensor> Norm(long channels, bool fused = false) =>
        fused ? nn.Identity() : new SafeBatchNorm2d(channels, eps: 1e-5, momentum: 0.1);

    /// <summary>
    /// ReLU6, out of place. The released code runs it in place, but libtorch's autograd saves a copy of the input of
    /// an in-place hardtanh for its backward (a whole activation copied per ReLU6 while training: about 4 % of a
    /// mobilenext_100 training step in <c>perf</c>), while the out-of-place op saves the input it already has; the
    /// values are the same and so is the memory held for backward.
    /// </summary>
    public static ReLU6 Act() => nn.ReLU6(inplace: false);

    /// <summary>
    /// Runs <paramref name="module"/> on <paramref name="x"/>: <c>module.call(x)</c>, except that on a channels-last
    /// input (<see cref="MemoryLayout"/>) every pointwise convolution inside it — directly, or in nested Sequentials —
    /// goes through <see cref="Pointwise"/>: the matrix product the convolution is, or by choice libtorch's 1×1 kernel
    /// where it has been checked to be right. Inputs in the default layout take the plain path,
    /// hooks included.
    /// </summary>
    public static Tensor Run(nn.Module<Tensor, Tensor> module, Tensor x)
    {
        if (!MemoryLayout.IsChannelsLast(x)) return module.call(x);
        switch (module)
        {
            case Conv2d conv when IsPointwise(conv):
                return Pointwise(conv, x);
            case Sequential sequential:
                // Sequential's own contract: intermediate results are disposed as soon as the next layer has run.
                var y = x;
                var children = sequential.children().ToList();
                for (int i = 0; i < children.Count; i++)
                {
                    // BatchNorm then ReLU6 in one pass where this library's channels-last kernel serves the batch
                    Tensor next;
                    if (children[i] is SafeBatchNorm2d norm && i + 1 < children.Count && children[i + 1] is ReLU6
                        && norm.ForwardWithReLU6(y) is { } fused)
                    {
                        next = fused;
                        i++; // the ReLU6 is done
                    }
                    else next = Run((nn.Module<Tensor, Tensor>)children[i], y);
                    if (!ReferenceEquals(y, x)) y.Dispose();
                    y = next;
                }
                return ReferenceEquals(y, x) ? x.alias() : y;
            default:
                return module.call(x);
        }
    }

    /// <summary>
    /// <see cref="Run(nn.Module{Tensor, Tensor}, Tensor)"/> for a tensor whose layout cannot tell, such as a pooled
    /// N×C×1×1 squeeze-excite input (both layouts' strides fit it): <paramref name="layoutOf"/>, the batch it came from,
    /// decides, so an NCHW batch takes the plain path with its hooks (the profiler counts the SE convs there).
    /// </summary>
    public static Tensor Run(nn.Module<Tensor, Tensor> module, Tensor x, Tensor layoutOf) =>
        MemoryLayout.IsChannelsLast(layoutOf) ? Run(module, x) : module.call(x);

    private static bool IsPointwise(Conv2d conv)
    {
        var w = conv.weight!;
        return w.shape[2] == 1 && w.shape[3] == 1
            && conv.stride.All(s => s == 1) && conv.dilation.All(d => d == 1) && conv.padding is { } p && p.All(v => v == 0);
    }

    /// <summary>
    /// A 1×1, stride-1 conv of the channels-last batch <paramref name="x"/>, by <see cref="MemoryLayout.PointwiseConvolutions"/>:
    /// the matrix product, or libtorch's kernel (<c>conv2d</c>) unchecked or where
    /// <see cref="PointwiseKernelCheck"/> has found it right for this shape, batch and thread count.
    /// </summary>
    /// <remarks>
    /// Why: libtorch 2.10's oneDNN (3.7.1) picks its <c>brgconv_1x1:avx512_core</c> kernel for an f32 1×1 conv on
    /// channels-last input, and on some of this project's AVX-512 machines (AMD Zen 5) that kernel returned outputs
    /// 8–38 % off (relative L2 against float64) for many layer shapes — 80, 112, 176, 200, 208, 272 and 1280 output
    /// channels among those probed — with the failures moving with batch size and thread count (960→208 at 7²: right
    /// for batch 8 on one thread, wrong for batch 32 on one thread and for every batch on two); MobileNeXt-1.0's
    /// gradients at initialisation then pointed 25° away from the exact ones (MemoryLayoutTests). On other machines of
    /// the same family it is right for every shape and faster under tcmalloc (a mobilenext_100 batch-32 training step
    /// 1.38× as fast as with the matrix product; bench <c>train-step-pointwise</c>), so the default
    /// (<see cref="PointwiseConvolutionPath.Auto"/>) uses it there, behind the check, for layers of at least
    /// <see cref="PointwiseKernelMinimumRows"/> rows (below, the matrix product is faster). A 1×1 conv on NHWC data is exactly
    /// a GEMM over the N·H·W rows, which libtorch computes correctly everywhere.
    /// </remarks>
    private static Tensor Pointwise(Conv2d conv, Tensor x)
    {
        var weight = conv.weight!;
        bool useKernel = MemoryLayout.EffectivePointwiseConvolutions switch
        {
            PointwiseConvolutionPath.OneDnn => true,
            PointwiseConvolutionPath.Checked => Rows(x) >= PointwiseKernelMinimumRows && PointwiseKernelCheck.IsRight(x, weight, conv.bias, conv.groups),
            _ => false,
        };
        return useKernel ? PointwiseKernelCheck.Kernel(x, weight, conv.bias, conv.groups) : PointwiseAsMatmul(x, weight, conv.bias, conv.groups);
    }

    /// <summary>
    /// The fewest N·H·W rows for which <see cref="PointwiseConvolutionPath.Checked"/> takes libtorch's 1×1 kernel; smaller
    /// layers take the matrix product unchecked. Measured (bench <c>pointwise-layers mobilenext_035 32 {32|64} {1|2}</c>,
    /// forward and backward, tcmalloc): at 256 rows the kernel ran at 0.68–0.90× the matrix product's speed, at 512 rows
    /// 0.80–1.02×, at 1024 rows 0.94–1.48×, and at 2048 rows and more 0.98–4.0×.
    /// </summary>
    internal const long PointwiseKernelMinimumRows = 1024;

    private static long Rows(Tensor x) => x.shape[0] * x.shape[2] * x.shape[3];

    /// <summary>
    /// A 1×1, stride-1 conv of a channels-last batch as (N·H·W × C_in) · Wᵀ, per group for a grouped conv (MobileNeXt†
    /// 1.1's groups of 2); the result is channels-last too.
    /// </summary>
    internal static Tensor PointwiseAsMatmul(Tensor x, Tensor weight4d, Tensor? bias, long groups)
    {
        using var rows = x.permute(0, 2, 3, 1);                 // N×H×W×C_in, contiguous: no copy
        using var weight = weight4d.flatten(1);                  // C_out×C_in/g view of the C_out×C_in/g×1×1 parameter
        if (groups == 1)
        {
            using var y = nn.functional.linear(rows, weight, bias);
            return y.permute(0, 3, 1, 2);
        }
        long g = groups, n = rows.shape[0], h = rows.shape[1], w = rows.shape[2];
        using var grouped = rows.reshape(n, h, w, g, rows.shape[3] / g);       // group-major channels, as conv2d splits them
        using var weights = weight.reshape(g, weight.shape[0] / g, weight.shape[1]);
        using var product = einsum("nhwgi,goi->nhwgo", grouped, weights);
        using var flat = product.reshape(n, h, w, weight.shape[0]);
        using var biased = bias is null ? flat.alias() : flat.add(bias);
        return biased.permute(0, 3, 1, 2);
    }

    /// <summary>
    /// The released initialisation (architecture.md, "Initialisation"; the same as torchvision's MobileNetV2):
    /// conv weights normal(0, sqrt(2 / (kh·kw·out))), i.e. Kaiming normal with fan-out; BatchNorm weight 1, bias 0;
    /// Linear normal(0, 0.01), bias 0.
    /// </summary>
    public static void InitializeWeights(nn.Module root)
    {
        using var _ = no_grad();
        foreach (var (_, module) in root.named_modules())
        {
            switch (module)
            {
                case Conv2d conv:
                    long fanOut = conv.weight!.shape[0] * conv.weight.shape[2] * conv.weight.shape[3];
                    nn.init.normal_(conv.weight, 0, Math.Sqrt(2.0 / fanOut));
                    if (conv.bias is not null) nn.init.zeros_(conv.bias);
                    break;
                case BatchNorm bn:
                    nn.init.ones_(bn.weight!);
                    nn.init.zeros_(bn.bias!);
                    break;
                case Linear linear:
                    nn.init.normal_(linear.weight!, 0, 0.01);
                    if (linear.bias is not null) nn.init.zeros_(linear.bias);
                    break;
            }
        }
    }
}
