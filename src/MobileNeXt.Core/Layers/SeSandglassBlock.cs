using MobileNeXt.Architecture;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MobileNeXt.Layers;

/// <summary>What one MobileNeXt† block is made of (followon-models.md §A).</summary>
/// <param name="InChannels">Input channels.</param>
/// <param name="OutChannels">Output channels.</param>
/// <param name="ReductionRatio">t of the block's stage; t = 2 selects the stage-1 layout.</param>
/// <param name="Stride">1 or 2; only the in≠out stride-2 layout carries it, on its depthwise conv.</param>
/// <param name="Kernel">Depthwise kernel size, 3 or 5.</param>
/// <param name="PointwiseGroups">Groups of the 1×1 convs of the stage-1 and residual layouts (b1: 2).</param>
/// <param name="DropConnect">Drop-connect rate of the residual branch in training, 0.2 · i / N.</param>
public sealed record SeBlockSpec(int InChannels, int OutChannels, int ReductionRatio, int Stride, int Kernel, int PointwiseGroups, double DropConnect)
{
    /// <summary>h = in // t rounded to even.</summary>
    public int HiddenChannels => SeStageTables.HiddenChannels(InChannels, ReductionRatio);

    /// <summary>Squeeze-excite width r = int(out / t · 0.25).</summary>
    public int SeChannels => SeStageTables.SeChannels(OutChannels, ReductionRatio);

    // The four positional layouts, checked in §A's order: t = 2; in≠out, s = 1; in≠out, s = 2; otherwise.
    private bool StageOne => ReductionRatio == 2;

    /// <summary>Whether the block opens with a depthwise conv (layouts 1 and 4).</summary>
    public bool FirstDepthwise => StageOne || InChannels == OutChannels;

    /// <summary>Whether the block ends with a depthwise conv (every layout but in≠out at stride 1).</summary>
    public bool LastDepthwise => StageOne || InChannels == OutChannels || Stride == 2;

    /// <summary>Whether the block adds its input back: layout 4 only (never the t = 2 blocks, not even b1's 96→96).</summary>
    public bool HasResidual => !StageOne && InChannels == OutChannels;

    /// <summary>Groups of the two 1×1 convs: <see cref="PointwiseGroups"/> in layouts 1 and 4, else 1.</summary>
    public int Groups => FirstDepthwise ? PointwiseGroups : 1;
}

/// <summary>
/// The MobileNeXt† block (the released <c>MBConvBlockV1</c>): the sandglass layers of <see cref="SandglassBlock"/> with
/// swish, BN eps 1e-3 / momentum 0.01, k×k depthwise convs with TF-"same" padding, squeeze-excite on the output
/// before the residual add, and drop-connect on the residual branch. Which layers exist comes from the spec.
/// </summary>
/// <remarks>
/// A class of its own rather than an option of <see cref="SandglassBlock"/>: the released keys put the layers under
/// <c>features</c> (not <c>conv</c>) with <c>_se_reduce</c>/<c>_se_expand</c> beside them, and the strided conv needs
/// asymmetric padding in front of it. Convs sit at <c>features.0/3/5/8</c> (both depthwise), <c>0/2/5</c> (last only)
/// or <c>0/2</c> (none), because the swish modules take indices too.
/// </remarks>
public sealed class SeSandglassBlock : nn.Module<Tensor, Tensor>
{
    // Field names are the released state_dict keys.
    private readonly Sequential features;
    private readonly Conv2d _se_reduce;
    private readonly Conv2d _se_expand;
    private readonly int stridedIndex;     // index in features of the stride-2 conv, or -1
    private readonly long[] stridedPadding; // its TF-"same" padding (left, right, top, bottom)

    /// <summary>Builds the block <paramref name="spec"/> describes.</summary>
    public SeSandglassBlock(SeBlockSpec spec) : this(spec, fused: false) { }

    internal SeSandglassBlock(SeBlockSpec spec, bool fused) : base(nameof(SeSandglassBlock))
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Stride is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(spec), spec.Stride, "Stride must be 1 or 2.");
        if (spec.Kernel is not (3 or 5)) throw new ArgumentOutOfRangeException(nameof(spec), spec.Kernel, "The depthwise kernel must be 3 or 5.");
        if (spec.Stride == 2 && spec.FirstDepthwise)
            throw new ArgumentException($"Only a block that changes width (and has t ≠ 2) can have stride 2; got {spec}.", nameof(spec));
        if (spec.Groups < 1 || spec.InChannels % spec.Groups != 0 || spec.HiddenChannels % spec.Groups != 0 || spec.OutChannels % spec.Groups != 0)
            throw new ArgumentException($"The pointwise groups ({spec.Groups}) must divide {spec.InChannels}, {spec.HiddenChannels} and {spec.OutChannels}.", nameof(spec));
        if (spec.DropConnect is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(spec), spec.DropConnect, "The drop-connect rate must be in [0, 1).");
        Spec = spec;
        int input = spec.InChannels, hidden = spec.HiddenChannels, output = spec.OutChannels, k = spec.Kernel;

        var layers = new List<nn.Module<Tensor, Tensor>>();
        if (spec.FirstDepthwise)
        {
            layers.Add(SeLayers.Conv(input, input, k, groups: input, fused: fused)); // dw
            layers.Add(SeLayers.Norm(input, fused));
            layers.Add(SeLayers.Act());
        }
        layers.Add(SeLayers.Conv(input, hidden, 1, groups: spec.Groups, fused: fused)); // pw reduce, linear
        layers.Add(SeLayers.Norm(hidden, fused));
        layers.Add(SeLayers.Conv(hidden, output, 1, groups: spec.Groups, fused: fused)); // pw expand
        layers.Add(SeLayers.Norm(output, fused));
        layers.Add(SeLayers.Act());
        stridedIndex = -1;
        stridedPadding = [];
        if (spec.LastDepthwise)
        {
            if (spec.Stride == 2) (stridedIndex, stridedPadding) = (layers.Count, SeLayers.StridedPadding(k));
            layers.Add(SeLayers.Conv(output, output, k, spec.Stride, groups: output, fused: fused)); // dw, linear, stride s
            layers.Add(SeLayers.Norm(output, fused));
        }
        features = nn.Sequential(layers);
        _se_reduce = nn.Conv2d(output, spec.SeChannels, 1, bias: true); // SE squeeze, swish after
        _se_expand = nn.Conv2d(spec.SeChannels, output, 1, bias: true); // SE excite, sigmoid after
        RegisterComponents();
    }

    /// <summary>What this block is made of.</summary>
    public SeBlockSpec Spec { get; }

    /// <summary>The block's layers in order (conv, BN and swish modules), as the released code names them.</summary>
    public Sequential Layers => features;

    /// <summary>Index in <see cref="Layers"/> of the stride-2 conv (-1: none) and the padding put in front of it (left, right, top, bottom).</summary>
    internal (int Index, long[] Padding) Strided => (stridedIndex, stridedPadding);

    /// <summary>The squeeze-excite convs: reduce (swish after), expand (sigmoid after).</summary>
    internal (Conv2d Reduce, Conv2d Expand) SqueezeExcite => (_se_reduce, _se_expand);

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = x;
        for (int i = 0; i < features.Count; i++)
        {
            if (i == stridedIndex) y = F.pad(y, stridedPadding);
            y = ConvLayers.Run((nn.Module<Tensor, Tensor>)features[i], y);
        }
        // squeeze-excite after the last BN (and the trailing swish of the no-depthwise layout), before the residual add
        var gate = F.adaptive_avg_pool2d(y, 1);
        gate = F.silu(ConvLayers.Run(_se_reduce, gate, layoutOf: x));
        gate = ConvLayers.Run(_se_expand, gate, layoutOf: x).sigmoid_();
        y = y * gate;
        if (Spec.HasResidual)
        {
            if (training && Spec.DropConnect > 0)
            {
                // per-sample mask on the residual branch: keep with probability 1 − p, rescaled by 1 / (1 − p)
                double keep = 1 - Spec.DropConnect;
                var mask = rand([y.shape[0], 1, 1, 1], y.dtype, y.device).add_(keep).floor_();
                y = y.div_(keep).mul_(mask);
            }
            y = y.add_(x, KeptScalars.One);
        }
        return y.MoveToOuterDisposeScope();
    }
}

/// <summary>Fixed zero padding (left, right, top, bottom), as a module: MobileNeXt†'s stem pads (0, 1, 0, 1) before its stride-2 conv.</summary>
public sealed class StaticZeroPad : nn.Module<Tensor, Tensor>
{
    /// <summary>Pads by <paramref name="padding"/> = (left, right, top, bottom).</summary>
    public StaticZeroPad(long[] padding) : base(nameof(StaticZeroPad)) => Padding = padding;

    /// <summary>(left, right, top, bottom).</summary>
    public IReadOnlyList<long> Padding { get; }

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => F.pad(x, [.. Padding]);
}

/// <summary>MobileNeXt†'s conv, norm and activation layers (followon-models.md §A).</summary>
internal static class SeLayers
{
    /// <summary>
    /// A k×k conv. At stride 1 it pads k // 2 on every side, which is TF-"same"; at stride 2 it pads nothing and its
    /// caller pads asymmetrically first (<see cref="StridedPadding"/>).
    /// </summary>
    public static Conv2d Conv(long input, long output, long kernel, long stride = 1, long groups = 1, bool fused = false) =>
        nn.Conv2d(input, output, kernel, stride: stride, padding: stride == 1 ? kernel / 2 : 0, groups: groups, bias: fused);

    /// <summary>
    /// TF-"same" padding of a stride-2 k×k conv on an even-sized input, fixed at build time as the released code does:
    /// total k − 2, the extra pixel right and bottom — (0, 1) for k = 3, (1, 2) for k = 5 — as (left, right, top, bottom).
    /// </summary>
    public static long[] StridedPadding(long kernel)
    {
        long total = kernel - 2, before = total / 2, after = total - before;
        return [before, after, before, after];
    }

    /// <summary>BatchNorm2d with the released eps 1e-3 and momentum 0.01 (TensorFlow's defaults); fused: an Identity.</summary>
    public static nn.Module<Tensor, Tensor> Norm(long channels, bool fused = false) =>
        fused ? nn.Identity() : new SafeBatchNorm2d(channels, eps: 1e-3, momentum: 0.01);

    /// <summary>Swish, x · sigmoid(x).</summary>
    public static nn.Module<Tensor, Tensor> Act() => nn.SiLU();
}
