namespace MobileNeXt.Architecture;

/// <summary>How to build a MobileNeXt network. Every value is validated when the network is planned.</summary>
public sealed record MobileNeXtOptions
{
    /// <summary>Width multiplier applied to every stage's channels (Table 3 uses 0.35, 0.5, 0.75, 1.0, 1.4). Default 1.0; any positive value.</summary>
    public double Width { get; init; } = 1.0;

    /// <summary>
    /// Identity tensor multiplier α (Sec. 3.3, Eq. 4): the shortcut adds the input to the first ⌊αC⌋ channels only.
    /// α = 1 is the full shortcut; use <c>1.0 / d</c> for the paper's 1/2, 1/3, 1/6. Must lie in [0, 1]. Default 1.0.
    /// </summary>
    public double IdentityMultiplier { get; init; } = 1.0;

    /// <summary>Number of classes of the classifier. Default 1000 (ImageNet). 0 builds no classifier (features only).</summary>
    public int NumClasses { get; init; } = 1000;

    /// <summary>Dropout probability before the classifier (architecture.md, "Head": 0.2). Must lie in [0, 1).</summary>
    public double DropRate { get; init; } = 0.2;

    /// <summary>Input image channels. Default 3 (RGB).</summary>
    public int InChannels { get; init; } = 3;

    /// <summary>Block layout. Default <see cref="MobileNeXtVariant.Released"/>.</summary>
    public MobileNeXtVariant Variant { get; init; } = MobileNeXtVariant.Released;

    /// <summary>
    /// The blocks' conv sequence. Default <see cref="BlockLayout.Sandglass"/>. A <see cref="BlockPlacement.WideEnds"/>
    /// layout is built on MobileNeXt's stage table with the widths, strides and shortcuts <see cref="Variant"/> chooses
    /// (the released variant's positional blocks drop only depthwise convs on a block's ends, so a layout whose depthwise
    /// convs sit on the hidden tensor, Fig. 4(a) and (b), keeps them in every block); a
    /// <see cref="BlockPlacement.NarrowEnds"/> layout on MobileNetV2's table (no variant); a
    /// <see cref="BlockPlacement.SandglassBottlenecks"/> layout cuts the sandglass network the variant chooses at its
    /// bottlenecks. The last two join narrow tensors with their shortcuts, so they take no identity multiplier.
    /// </summary>
    public BlockLayout Layout { get; init; } = BlockLayout.Sandglass;

    /// <summary>Throws an <see cref="ArgumentOutOfRangeException"/> naming the first invalid value and what to use instead.</summary>
    public void Validate()
    {
        if (!(Width > 0) || double.IsInfinity(Width))
            throw new ArgumentOutOfRangeException(nameof(Width), Width, $"Width multiplier must be a positive finite number (the paper uses 0.35, 0.5, 0.75, 1.0, 1.4); got {Width}.");
        IdentityShortcutValidation.Validate(IdentityMultiplier);
        if (NumClasses < 0)
            throw new ArgumentOutOfRangeException(nameof(NumClasses), NumClasses, $"NumClasses must be 0 (no classifier) or positive; got {NumClasses}.");
        if (!(DropRate >= 0 && DropRate < 1))
            throw new ArgumentOutOfRangeException(nameof(DropRate), DropRate, $"DropRate must lie in [0, 1); got {DropRate}.");
        if (InChannels <= 0)
            throw new ArgumentOutOfRangeException(nameof(InChannels), InChannels, $"InChannels must be positive (3 for RGB); got {InChannels}.");
        if (!Enum.IsDefined(Variant))
            throw new ArgumentOutOfRangeException(nameof(Variant), Variant, "Unknown variant; use Released or Uniform.");
        ArgumentNullException.ThrowIfNull(Layout, nameof(Layout));
        Layout.Validate();
        if (Layout.HasNarrowShortcut && IdentityMultiplier != 1.0)
            throw new ArgumentOutOfRangeException(nameof(IdentityMultiplier), IdentityMultiplier,
                $"The '{Layout.Name}' blocks' shortcuts join narrow tensors; the identity tensor multiplier (Sec. 3.3) is defined on the wide shortcut only. Leave it at 1.");
        if (Layout.Placement == BlockPlacement.NarrowEnds && Variant != MobileNeXtVariant.Released)
            throw new ArgumentOutOfRangeException(nameof(Variant), Variant,
                $"The '{Layout.Name}' blocks are built on MobileNetV2's stage table, which has no positional variants; leave Variant at Released.");
    }
}

internal static class IdentityShortcutValidation
{
    public static void Validate(double alpha)
    {
        if (!(alpha >= 0 && alpha <= 1))
            throw new ArgumentOutOfRangeException("IdentityMultiplier", alpha,
                $"The identity tensor multiplier α must lie in [0, 1] (Sec. 3.3; 1 = full shortcut, 0.5 = half the channels); got {alpha}.");
    }
}
