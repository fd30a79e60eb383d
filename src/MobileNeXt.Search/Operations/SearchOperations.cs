using MobileNeXt.Architecture;
using MobileNeXt.Layers;
using MobileNeXt.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Search.Operations;

/// <summary>
/// Builds a candidate operation by name: DARTS's <c>OPS</c> table (quark0/darts <c>cnn/operations.py</c>) plus the two
/// block operators. Every operation maps C channels to C channels, at the input's resolution (stride 1) or half of it
/// (stride 2, the reduction cell's edges from its two inputs).
/// </summary>
public static class SearchOperations
{
    /// <summary>
    /// The block operators' expansion (inverted residual) and reduction (sandglass) ratio t = 6: the value both papers
    /// use for almost every block (MobileNeXt Table 2, MobileNetV2 Table 2). At DARTS's widths it also orders the costs
    /// as Table 9's parameter counts do: per C-channel edge the sandglass block costs about 18C + 2C²/6 weights (below a
    /// 3×3 separable conv's 18C + 2C²), the inverted residual 54C + 12C² (above it).
    /// </summary>
    public const int BlockRatio = 6;

    /// <summary>Every operation name this factory knows.</summary>
    public static IReadOnlyList<string> Known { get; } = [.. Primitives.Darts, Primitives.Sandglass3x3, Primitives.InvertedResidual3x3];

    /// <summary>Builds operation <paramref name="name"/> on <paramref name="channels"/> channels.</summary>
    /// <param name="name">One of <see cref="Known"/>.</param>
    /// <param name="channels">Input and output channels C (even when a stride-2 skip connection is built).</param>
    /// <param name="stride">1, or 2 on a reduction cell's edges from its inputs.</param>
    /// <param name="affine">
    /// Whether the DARTS operations' BatchNorms learn scale and shift: false during search (DARTS <c>model_search.py</c>
    /// builds <c>OPS[primitive](C, stride, False)</c>), true in the evaluation network. The block operators are Core's
    /// blocks unchanged and keep their affine BatchNorms either way.
    /// </param>
    /// <exception cref="ArgumentException">Unknown name, channels below 1 or stride other than 1 or 2.</exception>
    public static nn.Module<Tensor, Tensor> Create(string name, int channels, int stride, bool affine)
    {
        if (channels < 1) throw new ArgumentOutOfRangeException(nameof(channels), channels, "An operation needs at least one channel.");
        ValidateStride(stride);
        int c = channels;
        return name switch
        {
            Primitives.None => new Zero(stride),
            Primitives.AvgPool3x3 => nn.AvgPool2d(3, stride: stride, padding: 1, count_include_pad: false),
            Primitives.MaxPool3x3 => nn.MaxPool2d(3, stride: stride, padding: 1),
            Primitives.SkipConnect => stride == 1 ? nn.Identity() : new FactorizedReduce(c, c, affine),
            Primitives.SepConv3x3 => SepConv(c, 3, stride, padding: 1, affine),
            Primitives.SepConv5x5 => SepConv(c, 5, stride, padding: 2, affine),
            Primitives.DilConv3x3 => new DilConv(c, c, 3, stride, padding: 2, dilation: 2, affine),
            Primitives.DilConv5x5 => new DilConv(c, c, 5, stride, padding: 4, dilation: 2, affine),
            Primitives.Sandglass3x3 => new SandglassBlock(SandglassSpec(c, stride)),
            Primitives.InvertedResidual3x3 => new InvertedResidual(c, c, stride, BlockRatio),
            _ => throw new ArgumentException($"Unknown operation '{name}'; known are {string.Join(", ", Known)}.", nameof(name)),
        };
    }

    /// <summary>
    /// The sandglass operator's block: C → C with both 3×3 depthwise convs, hidden width max(1, round(C / 6)), the last
    /// depthwise conv carrying the stride, and the identity shortcut when the stride is 1 (Table 1, Fig. 3b).
    /// </summary>
    public static BlockSpec SandglassSpec(int channels, int stride) =>
        new(channels, channels, SandglassHidden(channels), stride, FirstDepthwise: true, LastDepthwise: true, HasShortcut: stride == 1);

    /// <summary>The sandglass operator's hidden width, max(1, round(C / <see cref="BlockRatio"/>)), ties to even.</summary>
    public static int SandglassHidden(int channels) =>
        Math.Max(1, (int)Math.Round((double)channels / BlockRatio, MidpointRounding.ToEven));

    /// <summary>
    /// DARTS's <c>SepConv</c>: a ReLU–dw–pw–BN unit at the stride, then a second one at stride 1 (the depthwise conv is
    /// applied twice, Liu et al. Sec. 3.1 following Real et al.).
    /// </summary>
    private static nn.Module<Tensor, Tensor> SepConv(int c, int kernel, int stride, int padding, bool affine) =>
        nn.Sequential(
            new DilConv(c, c, kernel, stride, padding, dilation: 1, affine),
            new DilConv(c, c, kernel, 1, padding, dilation: 1, affine));

    /// <summary>BatchNorm2d with PyTorch's defaults (eps 1e-5, momentum 0.1), learnable only when <paramref name="affine"/>.</summary>
    internal static nn.Module<Tensor, Tensor> Norm(int channels, bool affine) => nn.BatchNorm2d(channels, affine: affine);

    internal static void ValidateStride(int stride)
    {
        if (stride is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(stride), stride, "An operation's stride must be 1 or 2.");
    }
}
