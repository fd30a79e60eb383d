namespace MobileNeXt.Architecture;

/// <summary>
/// A MobileNeXt network as data, before any tensor exists: the stem width, every block and the feature width.
/// <see cref="Create(MobileNeXtOptions?)"/> is the builder's one loop over the stage table.
/// </summary>
/// <param name="Options">The options it was planned from.</param>
/// <param name="StemChannels">Output channels of the 3×3 stride-2 stem conv.</param>
/// <param name="Blocks">The sandglass blocks, in order (20 for Table 2).</param>
/// <param name="StageEnds">Index into <see cref="Blocks"/> of the last block of each stage.</param>
/// <param name="HeadChannels">Output channels of a 1×1 conv + BN + ReLU6 after the last block (MobileNetV2's 1280), or 0 for none.</param>
public sealed record MobileNeXtPlan(MobileNeXtOptions Options, int StemChannels, IReadOnlyList<BlockSpec> Blocks, IReadOnlyList<int> StageEnds, int HeadChannels = 0)
{
    /// <summary>The width of the pooled features: the head conv's, else the last block's output.</summary>
    public int FeatureChannels => HeadChannels > 0 ? HeadChannels : Blocks[^1].OutChannels;

    /// <summary>
    /// Plans the network <paramref name="options"/> describe, from <see cref="StageTables.MobileNeXt"/>, or from
    /// <see cref="StageTables.MobileNetV2"/> for a <see cref="BlockPlacement.NarrowEnds"/> layout.
    /// </summary>
    public static MobileNeXtPlan Create(MobileNeXtOptions? options = null)
    {
        options ??= new MobileNeXtOptions();
        return Create(options, options.Layout.Placement == BlockPlacement.NarrowEnds ? StageTables.MobileNetV2 : StageTables.MobileNeXt);
    }

    /// <summary>
    /// Plans a network from a custom stage table (same rules as Table 2; for a <see cref="BlockPlacement.NarrowEnds"/>
    /// layout, MobileNetV2's rules: <see cref="StageSpec.ReductionRatio"/> is the expansion ratio).
    /// </summary>
    public static MobileNeXtPlan Create(MobileNeXtOptions options, IReadOnlyList<StageSpec> stages)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(stages);
        options.Validate();
        if (stages.Count == 0) throw new ArgumentException("The stage table is empty.", nameof(stages));
        if (options.Layout.Placement == BlockPlacement.NarrowEnds) return CreateNarrowEnds(options, stages);

        double w = options.Width;
        int stem = ChannelRounding.MakeDivisible(StageTables.MobileNeXtStemChannels * w);
        var blocks = new List<BlockSpec>();
        var stageEnds = new List<int>();
        int input = stem;
        for (int s = 0; s < stages.Count; s++)
        {
            var stage = stages[s];
            if (stage.Repeats < 1 || stage.ReductionRatio < 1 || stage.Stride is not (1 or 2) || stage.Channels < 1)
                throw new ArgumentException($"Stage {s + 1} ({stage}) is invalid: repeats, reduction ratio and channels must be positive and the stride 1 or 2.", nameof(stages));
            int output = StageChannels(stage, w, isLast: s == stages.Count - 1);
            // keep3x3 (released code): a one-block stride-1 stage keeps both depthwise convs (96>144, 960>1280).
            bool keep3x3 = stage.Repeats == 1 && stage.Stride == 1;
            for (int i = 0; i < stage.Repeats; i++)
            {
                int stride = i == 0 ? stage.Stride : 1;
                var block = options.Variant == MobileNeXtVariant.Released
                    ? ReleasedBlock(input, output, stride, stage.ReductionRatio, keep3x3 && i == 0)
                    : UniformBlock(input, output, stride, stage.ReductionRatio);
                if (!options.Layout.ReleasedPositions) block = block with { FirstDepthwise = true, LastDepthwise = true };
                blocks.Add(options.Layout.Placement == BlockPlacement.WideEnds ? block with { Layout = options.Layout } : block);
                input = output;
            }
            stageEnds.Add(blocks.Count - 1);
        }
        var plan = new MobileNeXtPlan(options, stem, blocks, stageEnds);
        return options.Layout.Placement == BlockPlacement.SandglassBottlenecks ? CutAtBottlenecks(plan) : plan;
    }

    /// <summary>
    /// The same convs as <paramref name="sandglass"/>'s blocks, regrouped so each block runs from one sandglass block's
    /// bottleneck to the next one's (<see cref="BlockLayout.NarrowShortcut"/>): a first block with the first sandglass
    /// block's head (its first dw, pw reduce), then for each sandglass block k its tail (pw expand, last dw) and block
    /// k + 1's head (first dw, pw reduce); the last block ends on the last sandglass block's output.
    /// </summary>
    private static MobileNeXtPlan CutAtBottlenecks(MobileNeXtPlan sandglass)
    {
        var layout = sandglass.Options.Layout;
        var b = sandglass.Blocks;
        int stem = sandglass.StemChannels;
        var cut = new List<BlockSpec>
        {
            // hidden = input: no pw expand, no strided dw; [dw + ReLU6] → pw reduce
            new(stem, b[0].HiddenChannels, stem, 1, FirstDepthwise: false, LastDepthwise: b[0].FirstDepthwise, HasShortcut: false) { Layout = layout },
        };
        for (int k = 0; k < b.Count; k++)
        {
            bool last = k == b.Count - 1;
            int output = last ? b[k].OutChannels : b[k + 1].HiddenChannels; // the last block has no pw reduce (hidden = output)
            cut.Add(new BlockSpec(b[k].HiddenChannels, output, b[k].OutChannels, b[k].Stride,
                FirstDepthwise: b[k].LastDepthwise, LastDepthwise: !last && b[k + 1].FirstDepthwise,
                HasShortcut: b[k].HiddenChannels == output && b[k].Stride == 1) { Layout = layout });
        }
        return sandglass with { Blocks = cut, StageEnds = sandglass.StageEnds.Select(e => e + 1).ToList() };
    }

    /// <summary>
    /// A network whose blocks join narrow tensors, on MobileNetV2's rules (torchvision's <c>mobilenet_v2</c>): stem
    /// <c>MakeDivisible(32w)</c>, stage outputs <c>MakeDivisible(c·w)</c>, hidden width <c>round(in · t)</c>, a shortcut
    /// iff in = out and stride 1, and a 1×1 conv to <c>MakeDivisible(1280 · max(1, w))</c> before pooling.
    /// </summary>
    private static MobileNeXtPlan CreateNarrowEnds(MobileNeXtOptions options, IReadOnlyList<StageSpec> stages)
    {
        double w = options.Width;
        int stem = ChannelRounding.MakeDivisible(StageTables.MobileNeXtStemChannels * w);
        var blocks = new List<BlockSpec>();
        var stageEnds = new List<int>();
        int input = stem;
        foreach (var stage in stages)
        {
            int output = ChannelRounding.MakeDivisible(stage.Channels * w);
            for (int i = 0; i < stage.Repeats; i++)
            {
                int stride = i == 0 ? stage.Stride : 1;
                int hidden = (int)Math.Round((double)input * stage.ReductionRatio, MidpointRounding.ToEven);
                blocks.Add(new BlockSpec(input, output, hidden, stride, FirstDepthwise: true, LastDepthwise: true,
                    HasShortcut: input == output && stride == 1) { Layout = options.Layout });
                input = output;
            }
            stageEnds.Add(blocks.Count - 1);
        }
        return new MobileNeXtPlan(options, stem, blocks, stageEnds, ChannelRounding.MakeDivisible(StageTables.MobileNetV2LastChannels * Math.Max(1.0, w)));
    }

    /// <summary>
    /// Stage output channels: <c>MakeDivisible(c · w, 8)</c>, except that the 1280 stage stays 1280 for w &lt; 1
    /// (architecture.md, "Channels"; the MobileNetV2 convention for the last layer).
    /// </summary>
    private static int StageChannels(StageSpec stage, double width, bool isLast) =>
        isLast && width < 1.0 ? stage.Channels : ChannelRounding.MakeDivisible(stage.Channels * width);

    /// <summary>
    /// Hidden width of the released block: <c>in / t</c>, raised to <c>MakeDivisible(ceil(out / 6), 16)</c>
    /// when below <c>out / 6</c> (architecture.md, "Channels").
    /// </summary>
    internal static int ReleasedHidden(int input, int output, int t)
    {
        int hidden = input / t;
        if (hidden < output / 6.0) hidden = ChannelRounding.MakeDivisible(Math.Ceiling(output / 6.0), 16);
        return hidden;
    }

    /// <summary>The released block at one position (architecture.md, "Which layers a block has").</summary>
    private static BlockSpec ReleasedBlock(int input, int output, int stride, int t, bool keep3x3)
    {
        int hidden = ReleasedHidden(input, output, t);
        if (t == 2) // the network's first block: all four convs, stride on the last dw, no shortcut
            return new(input, output, hidden, stride, FirstDepthwise: true, LastDepthwise: true, HasShortcut: false);
        if (input != output && !keep3x3)
            // 288>384, 576>960 (stride 1): pw-pw only; 144>192, 192>288, 384>576 (stride 2): pw-pw-dw.
            return new(input, output, hidden, stride, FirstDepthwise: false, LastDepthwise: stride != 1, HasShortcut: false);
        // The full block. The released code never builds this with stride 2 and in = out; should a tiny width
        // make that happen, the stride is kept on the last dw and the shortcut dropped (it could not be added).
        return new(input, output, hidden, stride, FirstDepthwise: true, LastDepthwise: true, HasShortcut: !keep3x3 && stride == 1);
    }

    /// <summary>The paper's Table 1 block: M/t hidden channels, shortcut iff M = N and s = 1 (Sec. 3.2).</summary>
    private static BlockSpec UniformBlock(int input, int output, int stride, int t) =>
        new(input, output, Math.Max(1, input / t), stride, FirstDepthwise: true, LastDepthwise: true,
            HasShortcut: input == output && stride == 1);
}
