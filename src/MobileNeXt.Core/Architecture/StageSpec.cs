namespace MobileNeXt.Architecture;

/// <summary>One row of a stage table: <c>Repeats</c> blocks, the first of which has stride <c>Stride</c>.</summary>
/// <param name="ReductionRatio">t: the reducing pointwise conv divides the block's input channels by this.</param>
/// <param name="Channels">c: output channels at width 1.0.</param>
/// <param name="Repeats">n: how many blocks the stage has.</param>
/// <param name="Stride">s: stride of the stage's first block; the others have stride 1.</param>
public sealed record StageSpec(int ReductionRatio, int Channels, int Repeats, int Stride);

/// <summary>The stage tables this library builds from.</summary>
public static class StageTables
{
    /// <summary>
    /// MobileNeXt, Table 2 of the paper with the 960 stage at n = 3, as in the released code: the arXiv
    /// table prints n = 2, which the authors confirmed is a misprint (architecture.md, "Stage table").
    /// </summary>
    public static IReadOnlyList<StageSpec> MobileNeXt { get; } =
    [
        new(ReductionRatio: 2, Channels: 96, Repeats: 1, Stride: 2),
        new(ReductionRatio: 6, Channels: 144, Repeats: 1, Stride: 1),
        new(ReductionRatio: 6, Channels: 192, Repeats: 3, Stride: 2),
        new(ReductionRatio: 6, Channels: 288, Repeats: 3, Stride: 2),
        new(ReductionRatio: 6, Channels: 384, Repeats: 4, Stride: 1),
        new(ReductionRatio: 6, Channels: 576, Repeats: 4, Stride: 2),
        new(ReductionRatio: 6, Channels: 960, Repeats: 3, Stride: 1),
        new(ReductionRatio: 6, Channels: 1280, Repeats: 1, Stride: 1),
    ];

    /// <summary>Stem output channels at width 1.0 (Table 2, row 1: conv2d 3×3, stride 2, 32 channels).</summary>
    public const int MobileNeXtStemChannels = 32;

    /// <summary>MobileNetV2's last 1×1 conv width at width 1.0 (Sandler et al. 2018, Table 2), scaled only for w &gt; 1.</summary>
    public const int MobileNetV2LastChannels = 1280;

    /// <summary>
    /// MobileNetV2's inverted-residual table (Sandler et al. 2018, Table 2; torchvision's
    /// <c>inverted_residual_setting</c>). Here <see cref="StageSpec.ReductionRatio"/> holds the expansion ratio t.
    /// </summary>
    public static IReadOnlyList<StageSpec> MobileNetV2 { get; } =
    [
        new(1, 16, 1, 1),
        new(6, 24, 2, 2),
        new(6, 32, 3, 2),
        new(6, 64, 4, 2),
        new(6, 96, 3, 1),
        new(6, 160, 3, 2),
        new(6, 320, 1, 1),
    ];
}
