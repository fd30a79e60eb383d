namespace MobileNeXt.Architecture;

/// <summary>One row of MobileNeXt†'s stage table: <see cref="StageSpec"/> plus the depthwise kernel size.</summary>
/// <param name="ReductionRatio">t: the reducing pointwise conv divides the block's input channels by this.</param>
/// <param name="Channels">c: output channels.</param>
/// <param name="Repeats">n: blocks in the stage at depth 1.0 (b0).</param>
/// <param name="Stride">s: stride of the stage's first block; the others have stride 1.</param>
/// <param name="Kernel">k: the depthwise convs' kernel size.</param>
public sealed record SeStageSpec(int ReductionRatio, int Channels, int Repeats, int Stride, int Kernel);

/// <summary>
/// MobileNeXt† (Zhou et al., ECCV 2020, Table 6: the network with squeeze-excite and swish) as the authors'
/// <c>efficient_mnext</c> code builds it (followon-models.md §A).
/// </summary>
public static class SeStageTables
{
    /// <summary>
    /// The stage table of <c>mnext-b0</c> (followon-models.md §A, "stage" table). Against plain MobileNeXt the stride moves
    /// from the 96 stage to the 144 stage and the 192/384/576 stages use 5×5 depthwise kernels.
    /// </summary>
    public static IReadOnlyList<SeStageSpec> Stages { get; } =
    [
        new(ReductionRatio: 2, Channels: 96, Repeats: 1, Stride: 1, Kernel: 3),
        new(ReductionRatio: 6, Channels: 144, Repeats: 1, Stride: 2, Kernel: 3),
        new(ReductionRatio: 6, Channels: 192, Repeats: 3, Stride: 2, Kernel: 5),
        new(ReductionRatio: 6, Channels: 288, Repeats: 3, Stride: 2, Kernel: 3),
        new(ReductionRatio: 6, Channels: 384, Repeats: 4, Stride: 1, Kernel: 5),
        new(ReductionRatio: 6, Channels: 576, Repeats: 4, Stride: 2, Kernel: 5),
        new(ReductionRatio: 6, Channels: 960, Repeats: 3, Stride: 1, Kernel: 3),
        new(ReductionRatio: 6, Channels: 1280, Repeats: 1, Stride: 1, Kernel: 3),
    ];

    /// <summary>Stem: 3×3 conv, stride 2, 32 channels, BN and swish (§A, first row).</summary>
    public const int StemChannels = 32;

    /// <summary>Width of the last block's output, which feeds the head directly (there is no head conv).</summary>
    public const int FeatureChannels = 1280;

    /// <summary>Squeeze-excite width factor: r = int(out / t · 0.25) (§A, "SE").</summary>
    public const double SeRatio = 0.25;

    /// <summary>Largest drop-connect rate, reached by the last block: rate_i = 0.2 · i / N (§A, "Drop-connect").</summary>
    public const double DropConnectRate = 0.2;

    /// <summary>Repeats under a depth multiplier, rounded up as the released code does (b1: ×1.1 gives 2,2,4,4,5,5,4,2).</summary>
    public static int ScaledRepeats(int repeats, double depth) => (int)Math.Ceiling(repeats * depth);

    /// <summary>Hidden width h = in // t rounded to an even number (§A, "Hidden width": the out/6 floor never fires).</summary>
    public static int HiddenChannels(int inChannels, int reductionRatio) => ChannelRounding.MakeDivisible(inChannels / reductionRatio, 2);

    /// <summary>Squeeze-excite width r = int(out / t · 0.25).</summary>
    public static int SeChannels(int outChannels, int reductionRatio) => (int)((double)outChannels / reductionRatio * SeRatio);
}
