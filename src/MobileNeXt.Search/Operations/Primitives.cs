namespace MobileNeXt.Search.Operations;

/// <summary>
/// The names of the candidate operations, as DARTS's <c>genotypes.py</c> spells them (quark0/darts,
/// <c>cnn/genotypes.py</c>, <c>PRIMITIVES</c>), plus the two block operators of MobileNeXt's Table 9. Genotypes store
/// these names, so a genotype written here reads the same as one of DARTS's.
/// </summary>
public static class Primitives
{
    /// <summary>The zero operation: the edge is absent.</summary>
    public const string None = "none";

    /// <summary>3×3 max pooling, padding 1.</summary>
    public const string MaxPool3x3 = "max_pool_3x3";

    /// <summary>3×3 average pooling, padding 1, padded cells not counted (<c>count_include_pad=False</c>).</summary>
    public const string AvgPool3x3 = "avg_pool_3x3";

    /// <summary>Identity; on a stride-2 edge, a factorised reduce.</summary>
    public const string SkipConnect = "skip_connect";

    /// <summary>Separable 3×3 convolution: (ReLU, dw 3×3, pw, BN) twice.</summary>
    public const string SepConv3x3 = "sep_conv_3x3";

    /// <summary>Separable 5×5 convolution: (ReLU, dw 5×5, pw, BN) twice.</summary>
    public const string SepConv5x5 = "sep_conv_5x5";

    /// <summary>Dilated (rate 2) separable 3×3 convolution: ReLU, dw 3×3 dilation 2, pw, BN.</summary>
    public const string DilConv3x3 = "dil_conv_3x3";

    /// <summary>Dilated (rate 2) separable 5×5 convolution: ReLU, dw 5×5 dilation 2, pw, BN.</summary>
    public const string DilConv5x5 = "dil_conv_5x5";

    /// <summary>MobileNeXt's sandglass block with 3×3 depthwise convs (supplementary Sec. B).</summary>
    public const string Sandglass3x3 = "sandglass_3x3";

    /// <summary>MobileNetV2's inverted residual block with a 3×3 depthwise conv (supplementary Sec. B).</summary>
    public const string InvertedResidual3x3 = "inv_res_3x3";

    /// <summary>DARTS's eight operations in its order (<c>PRIMITIVES</c>; the order fixes the columns of α).</summary>
    public static IReadOnlyList<string> Darts { get; } =
        [None, MaxPool3x3, AvgPool3x3, SkipConnect, SepConv3x3, SepConv5x5, DilConv3x3, DilConv5x5];
}
