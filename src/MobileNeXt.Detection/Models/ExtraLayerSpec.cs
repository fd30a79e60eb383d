namespace MobileNeXt.Detection;

/// <summary>
/// One of SSDLite's extra layers after the backbone: dw 3×3 stride 2 + BN + ReLU6 → pw to <paramref name="Hidden"/> + BN
/// (linear) → pw to <paramref name="Out"/> + BN + ReLU6 (the released code's <c>sg_block_extra</c>,
/// ssd/modeling/backbone/mobilenext.py; followon-models.md §B, "Extras").
/// </summary>
/// <param name="In">Input channels (the first layer's are the backbone's output channels).</param>
/// <param name="Hidden">Channels after the first pointwise conv.</param>
/// <param name="Out">Output channels: the map the heads of this level read.</param>
public sealed record ExtraLayerSpec(int In, int Hidden, int Out)
{
    /// <summary>
    /// The four extras of the released SSDLite320 (1280 → 256 → 512, 512 → 128 → 256, 256 → 128 → 256, 256 → 128 → 128;
    /// <c>sg_block_extra(1280, 512, 2, 0.2)</c> … <c>(256, 128, 2, 0.5)</c>, hidden = ⌊in · ratio⌋): maps of 5², 3², 2², 1²
    /// at 320².
    /// </summary>
    public static IReadOnlyList<ExtraLayerSpec> Released { get; } =
    [
        new(1280, 256, 512),
        new(512, 128, 256),
        new(256, 128, 256),
        new(256, 128, 128),
    ];
}
