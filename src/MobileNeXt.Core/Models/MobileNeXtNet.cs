using MobileNeXt.Architecture;
using MobileNeXt.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Models;

/// <summary>
/// MobileNeXt (Zhou et al., ECCV 2020, Table 2): a 3×3 stride-2 stem, 20 sandglass blocks, global average pooling,
/// dropout and a linear classifier; with another <see cref="MobileNeXtOptions.Layout"/>, the same network with the
/// paper's Fig. 4 block variants or Sec. 4.4 ablations in place of the sandglass block. With <see cref="MobileNeXtVariant.Released"/> (the default) its state_dict keys
/// and shapes are the released PyTorch code's, so its checkpoints load unchanged.
/// </summary>
public sealed class MobileNeXtNet : ImageClassifier
{
    private readonly IReadOnlyList<FeatureTap> featureTaps;

    /// <summary>Builds the network the options describe, with the released initialisation.</summary>
    public MobileNeXtNet(MobileNeXtOptions? options = null) : this(MobileNeXtPlan.Create(options)) { }

    /// <summary>Builds the network of a plan (see <see cref="MobileNeXtPlan.Create(MobileNeXtOptions?)"/>).</summary>
    public MobileNeXtNet(MobileNeXtPlan plan) : this(plan, fused: false) { }

    private MobileNeXtNet(MobileNeXtPlan plan, bool fused) : base(nameof(MobileNeXtNet), fused)
    {
        ArgumentNullException.ThrowIfNull(plan);
        Plan = plan;
        var options = plan.Options;
        var layers = new List<nn.Module<Tensor, Tensor>>
        {
            // stem: conv 3×3 stride 2 + BN + ReLU6 (Table 2, row 1)
            nn.Sequential(ConvLayers.Conv(options.InChannels, plan.StemChannels, 3, stride: 2, fused: fused), ConvLayers.Norm(plan.StemChannels, fused), ConvLayers.Act()),
        };
        layers.AddRange(plan.Blocks.Select(b => new SandglassBlock(b, options.IdentityMultiplier, fused)));
        if (plan.HeadChannels > 0) layers.Add(MobileNetV2.ConvNormAct(plan.Blocks[^1].OutChannels, plan.HeadChannels, 1, 1, fused: fused)); // MobileNetV2's last 1×1 conv
        var (taps, tapPoints) = LocateTaps(plan);
        featureTaps = taps;
        Build(nn.Sequential(layers), plan.FeatureChannels, options.NumClasses, options.DropRate, tapPoints);
    }

    /// <inheritdoc />
    protected override ImageClassifier CreateFusedShell()
    {
        var shell = new MobileNeXtNet(Plan, fused: true);
        shell.SetIdentityMultiplier(IdentityMultiplier);
        if (shell.NumClasses != NumClasses) shell.ResetClassifier(NumClasses);
        return shell;
    }

    /// <summary>The plan this network was built from: options, stem width and every block.</summary>
    public MobileNeXtPlan Plan { get; }

    /// <summary>The blocks in order (<c>features.1</c> … <c>features.20</c> for Table 2).</summary>
    public IEnumerable<SandglassBlock> Blocks => Features.children().OfType<SandglassBlock>();

    /// <inheritdoc />
    public override int InChannels => Plan.Options.InChannels;

    /// <summary>The identity tensor multiplier α every shortcut currently uses.</summary>
    public double IdentityMultiplier => Blocks.First().IdentityMultiplier;

    /// <summary>
    /// Sets α on every block (Sec. 3.3). It changes no parameter; it changes outputs, so load a checkpoint
    /// with the α it was trained with (the 74.09 % checkpoint used 1/2).
    /// </summary>
    public void SetIdentityMultiplier(double alpha)
    {
        IdentityShortcutValidation.Validate(alpha);
        if (alpha != 1.0 && Plan.Options.Layout.HasNarrowShortcut)
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha,
                $"The '{Plan.Options.Layout.Name}' blocks' shortcuts join narrow tensors; the identity tensor multiplier (Sec. 3.3) is defined on the wide shortcut only. Leave it at 1.");
        foreach (var block in Blocks) block.SetIdentityMultiplier(alpha);
    }

    /// <summary>
    /// Stride 8: the last block at output stride 8 (<c>features.5</c> in Table 2); stride 16: the last pointwise conv at
    /// stride 16 — the expansion of the block that goes to stride 32 (<c>features.13.conv.4</c>), where SSDLite attaches
    /// (Sec. 4.5); stride 32: the last block.
    /// </summary>
    public override IReadOnlyList<FeatureTap> FeatureTaps => featureTaps;

    /// <summary>Finds the taps from the blocks' strides. Indices are into <c>features</c> (block i is <c>features.i</c>).</summary>
    private static (List<FeatureTap>, List<(int, bool)>) LocateTaps(MobileNeXtPlan plan)
    {
        var blocks = plan.Blocks;
        int stride = 2, tap8 = -1, tap16 = -1;
        bool expanded = false;
        for (int i = 0; i < blocks.Count; i++)
        {
            int before = stride;
            stride *= blocks[i].Stride;
            if (stride == 8) tap8 = i + 1;
            if (before == 16 && stride == 32 && blocks[i].ExpandsBeforeStride && !expanded) { tap16 = i + 1; expanded = true; }
            else if (stride == 16 && !expanded) tap16 = i + 1;
        }
        if (stride != 32 || tap8 < 0 || tap16 < 0)
            throw new ArgumentException("The stage table must reach output strides 8, 16 and 32.");
        var b16 = blocks[tap16 - 1];
        int last = blocks.Count + (plan.HeadChannels > 0 ? 1 : 0);
        var taps = new List<FeatureTap>
        {
            new($"features.{tap8}", 8, blocks[tap8 - 1].OutChannels),
            // The expanding pw's ReLU6 sits at conv.7 of a full sandglass block, at conv.4 without its first dw.
            expanded ? new($"features.{tap16}.conv.{b16.ExpansionLayerIndex()}", 16, b16.ExpansionChannels) : new($"features.{tap16}", 16, b16.OutChannels),
            new($"features.{last}", 32, plan.FeatureChannels),
        };
        return (taps, [(tap8, false), (tap16, expanded), (last, false)]);
    }
}
