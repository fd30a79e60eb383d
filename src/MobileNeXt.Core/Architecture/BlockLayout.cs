namespace MobileNeXt.Architecture;

/// <summary>Which of a block's three tensors a conv reads or writes: its input, its hidden tensor or its output.</summary>
public enum BlockTensor
{
    /// <summary>The block's input (<see cref="BlockSpec.InChannels"/> channels).</summary>
    Input,

    /// <summary>The tensor between the two pointwise convs (<see cref="BlockSpec.HiddenChannels"/> channels).</summary>
    Hidden,

    /// <summary>The block's output (<see cref="BlockSpec.OutChannels"/> channels).</summary>
    Output,
}

/// <summary>
/// One conv of a block and what follows it: a 3×3 depthwise conv on one tensor (<paramref name="From"/> =
/// <paramref name="To"/>) or a 1×1 conv from one tensor to the next, then BatchNorm, then ReLU6 when
/// <paramref name="Activated"/>.
/// </summary>
/// <param name="Depthwise">3×3 depthwise (groups = channels) rather than 1×1.</param>
/// <param name="From">The tensor it reads.</param>
/// <param name="To">The tensor it writes.</param>
/// <param name="Activated">Followed by ReLU6 (otherwise linear).</param>
/// <param name="Strided">Carries the block's stride.</param>
/// <param name="OmittedWhenSameWidth">
/// Left out when the two tensors have equal widths: MobileNetV2's expansion-1 first block has no expanding conv.
/// </param>
public sealed record ConvStep(bool Depthwise, BlockTensor From, BlockTensor To, bool Activated, bool Strided = false, bool OmittedWhenSameWidth = false)
{
    /// <summary>A 3×3 depthwise conv on <paramref name="on"/>.</summary>
    public static ConvStep Dw(BlockTensor on, bool activated, bool strided = false) => new(true, on, on, activated, strided);

    /// <summary>A 1×1 conv from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public static ConvStep Pw(BlockTensor from, BlockTensor to, bool activated, bool strided = false, bool omittedWhenSameWidth = false) =>
        new(false, from, to, activated, strided, omittedWhenSameWidth);
}

/// <summary>Where a block's tensors sit in the network: which stage table builds it and which of its ends is wide.</summary>
public enum BlockPlacement
{
    /// <summary>
    /// Input and output are the wide tensors and the hidden one is narrow (the sandglass and the classic bottleneck):
    /// MobileNeXt's stage table (Table 2), hidden = in / t, the shortcut joins wide tensors.
    /// </summary>
    WideEnds,

    /// <summary>
    /// Input and output are the narrow tensors and the hidden one is wide (the inverted residual's placement):
    /// MobileNetV2's stage table, hidden = in · t, a 1×1 conv to 1280 channels before pooling; the shortcut joins
    /// narrow tensors.
    /// </summary>
    NarrowEnds,

    /// <summary>
    /// The sandglass network's own convs, with the block boundaries moved from its wide tensors to its bottleneck
    /// (narrow) ones: block k runs from sandglass block k's bottleneck to block k + 1's, so its hidden tensor is block k's
    /// wide output. MobileNeXt's stage table and layers are unchanged; only where the shortcuts join moves (a shortcut iff
    /// the two bottlenecks have equal widths and no stride between them, the inverted residual's rule).
    /// </summary>
    SandglassBottlenecks,
}

/// <summary>
/// The conv sequence of a block, as data: the one thing the paper's block variants (Fig. 4, Sec. 4.4) change. A
/// <see cref="MobileNeXt.Layers.SandglassBlock"/> builds whatever layout its <see cref="BlockSpec"/> names, so the sandglass block,
/// the three Fig. 4 variants and the two Sec. 4.4 ablations are one class configured by six values of this record.
/// </summary>
/// <param name="Name">What the layout is, for summaries and messages.</param>
/// <param name="Steps">The convs in order. The shortcut, when the spec has one, adds the input to the last step's output.</param>
/// <param name="Placement">Which of the block's tensors are wide, and so which stage table the network uses.</param>
public sealed record BlockLayout(string Name, IReadOnlyList<ConvStep> Steps, BlockPlacement Placement)
{
    /// <summary>
    /// Whether the released network's positional blocks apply, which drop the sandglass block's first and/or last
    /// depthwise conv at some positions (architecture.md, "Which layers a block has"). True for the sandglass layouts;
    /// the Fig. 4 variants keep every conv in every block.
    /// </summary>
    public bool ReleasedPositions { get; init; }

    /// <summary>Whether the shortcut, where there is one, joins narrow tensors (the identity multiplier does not apply).</summary>
    public bool HasNarrowShortcut => Placement != BlockPlacement.WideEnds;

    /// <summary>
    /// The sandglass block (Table 1, Fig. 3b / 4d): dw 3×3 + BN + ReLU6 → pw reduce + BN (linear) → pw expand + BN +
    /// ReLU6 → dw 3×3 + BN (linear, stride s). The released network's positional variants drop the first and/or last
    /// dw (<see cref="BlockSpec.FirstDepthwise"/>, <see cref="BlockSpec.LastDepthwise"/>).
    /// </summary>
    public static BlockLayout Sandglass { get; } = new("sandglass",
    [
        ConvStep.Dw(BlockTensor.Input, activated: true),
        ConvStep.Pw(BlockTensor.Input, BlockTensor.Hidden, activated: false),
        ConvStep.Pw(BlockTensor.Hidden, BlockTensor.Output, activated: true),
        ConvStep.Dw(BlockTensor.Output, activated: false, strided: true),
    ], BlockPlacement.WideEnds) { ReleasedPositions = true };

    /// <summary>
    /// Sec. 4.4, "importance of linear residuals": the sandglass block with ReLU6 after its last conv as well, so the
    /// residual branch ends non-linearly. The released blocks built without their last dw (288→384, 576→960) already end
    /// in the expanding pw's ReLU6 and do not change.
    /// </summary>
    public static BlockLayout SandglassReLU6Residual { get; } = new("sandglass, ReLU6 residual",
    [
        ConvStep.Dw(BlockTensor.Input, activated: true),
        ConvStep.Pw(BlockTensor.Input, BlockTensor.Hidden, activated: false),
        ConvStep.Pw(BlockTensor.Hidden, BlockTensor.Output, activated: true),
        ConvStep.Dw(BlockTensor.Output, activated: true, strided: true),
    ], BlockPlacement.WideEnds) { ReleasedPositions = true };

    /// <summary>
    /// Fig. 4(a): He et al.'s bottleneck with its 3×3 conv made depthwise — pw reduce + BN + ReLU6 → dw 3×3 + BN + ReLU6
    /// (stride s) → pw expand + BN (linear, as every residual branch here) — shortcut between the wide ends.
    /// </summary>
    public static BlockLayout Fig4a { get; } = new("fig. 4(a) bottleneck, dw",
    [
        ConvStep.Pw(BlockTensor.Input, BlockTensor.Hidden, activated: true),
        ConvStep.Dw(BlockTensor.Hidden, activated: true, strided: true),
        ConvStep.Pw(BlockTensor.Hidden, BlockTensor.Output, activated: false),
    ], BlockPlacement.WideEnds);

    /// <summary>
    /// Fig. 4(b): Fig. 4(a) with one more depthwise conv in the bottleneck, placed before the strided one (as Table 5's
    /// extra conv in <c>mobilenetv2_dw_100</c>): pw reduce + ReLU6 → dw + ReLU6 → dw + ReLU6 (stride s) → pw expand, linear.
    /// </summary>
    public static BlockLayout Fig4b { get; } = new("fig. 4(b) bottleneck, 2 dw",
    [
        ConvStep.Pw(BlockTensor.Input, BlockTensor.Hidden, activated: true),
        ConvStep.Dw(BlockTensor.Hidden, activated: true),
        ConvStep.Dw(BlockTensor.Hidden, activated: true, strided: true),
        ConvStep.Pw(BlockTensor.Hidden, BlockTensor.Output, activated: false),
    ], BlockPlacement.WideEnds);

    /// <summary>
    /// Fig. 4(c): the sandglass block with its two pointwise convs swapped, so the depthwise convs sit on the narrow
    /// ends of an inverted residual: dw + ReLU6 → pw expand + ReLU6 → pw reduce (linear, stride s) → dw (linear); the
    /// shortcut joins the narrow ends.
    /// </summary>
    public static BlockLayout Fig4c { get; } = new("fig. 4(c) swapped pointwise",
    [
        ConvStep.Dw(BlockTensor.Input, activated: true),
        ConvStep.Pw(BlockTensor.Input, BlockTensor.Hidden, activated: true, omittedWhenSameWidth: true),
        ConvStep.Pw(BlockTensor.Hidden, BlockTensor.Output, activated: false, strided: true),
        ConvStep.Dw(BlockTensor.Output, activated: false),
    ], BlockPlacement.NarrowEnds);

    /// <summary>
    /// Sec. 4.4, "importance of using wider transformation": the sandglass network's convs with the shortcuts moved to
    /// the bottleneck (narrow) tensors, as in the inverted residual block. Cutting the sandglass sequence at its narrow
    /// tensors gives blocks of pw expand + ReLU6 → dw (linear, stride s; sandglass block k's last dw) → dw + ReLU6
    /// (block k + 1's first dw) → pw reduce (linear); the network's first block is the first sandglass block's head
    /// (dw + ReLU6 → pw reduce) and its last the last one's tail (pw expand + ReLU6 → dw), so the layers, parameters and
    /// MACs are the sandglass network's.
    /// </summary>
    public static BlockLayout NarrowShortcut { get; } = new("sandglass, shortcut between bottlenecks",
    [
        ConvStep.Pw(BlockTensor.Input, BlockTensor.Hidden, activated: true, omittedWhenSameWidth: true),
        ConvStep.Dw(BlockTensor.Hidden, activated: false, strided: true),
        ConvStep.Dw(BlockTensor.Hidden, activated: true),
        ConvStep.Pw(BlockTensor.Hidden, BlockTensor.Output, activated: false, omittedWhenSameWidth: true),
    ], BlockPlacement.SandglassBottlenecks) { ReleasedPositions = true };

    /// <summary>Number of depthwise convs (Table 10's "#Dwise convs").</summary>
    public int DepthwiseConvs => Steps.Count(s => s.Depthwise);

    /// <summary>The step that writes the wide tensor first: its activated output is the expansion tap (Sec. 4.5).</summary>
    public int ExpansionStep => Steps.ToList().FindIndex(s => !s.Depthwise && s.To == (Placement == BlockPlacement.WideEnds ? BlockTensor.Output : BlockTensor.Hidden));

    /// <summary>The step that carries the stride.</summary>
    public int StrideStep => Steps.ToList().FindIndex(s => s.Strided);

    /// <inheritdoc />
    public override string ToString() => Name;

    /// <summary>Checks the layout is one the block can build; the message says what is wrong.</summary>
    internal void Validate()
    {
        if (Steps.Count == 0) throw new ArgumentException($"Block layout '{Name}' has no convs.");
        if (Steps.Count(s => s.Strided) != 1) throw new ArgumentException($"Block layout '{Name}' must mark exactly one conv as carrying the stride.");
        var at = BlockTensor.Input;
        foreach (var s in Steps)
        {
            if (s.From != at) throw new ArgumentException($"Block layout '{Name}': a conv reads {s.From} where the previous one wrote {at}.");
            if (s.Depthwise ? s.To != s.From : s.To <= s.From) throw new ArgumentException($"Block layout '{Name}': a {(s.Depthwise ? "depthwise" : "pointwise")} conv cannot go from {s.From} to {s.To}.");
            at = s.To;
        }
        if (at != BlockTensor.Output) throw new ArgumentException($"Block layout '{Name}' must end on the block's output.");
        if (ExpansionStep < 0) throw new ArgumentException($"Block layout '{Name}' has no pointwise conv writing its wide tensor.");
        if (Placement == BlockPlacement.SandglassBottlenecks && DepthwiseConvs != 2)
            throw new ArgumentException($"Block layout '{Name}' cuts the sandglass sequence at its bottlenecks, so it must hold the sandglass block's two depthwise convs.");
    }
}
