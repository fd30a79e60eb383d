using MobileNeXt.Architecture;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Layers;

/// <summary>
/// The sandglass block (Table 1, Fig. 3b): dw 3×3 + BN + ReLU6 → pw reduce + BN (linear) → pw expand + BN + ReLU6
/// → dw 3×3 + BN (linear, stride s), with a shortcut between the high-dimensional ends through the identity
/// tensor multiplier. Which depthwise convs exist and whether the shortcut exists come from the
/// <see cref="BlockSpec"/>, so the released network's positional variants are all this one class.
/// </summary>
/// <remarks>
/// The layers sit in one <c>conv</c> Sequential that includes the ReLU6 modules, so the state_dict keys are the
/// released code's: <c>conv.0</c>, <c>conv.3</c>, <c>conv.5</c>, <c>conv.8</c> for a four-conv block (architecture.md).
/// <para>
/// How it stays one small class for every block the paper compares: the conv sequence is data
/// (<see cref="BlockSpec.Layout"/>, a list of <see cref="ConvStep"/>s saying which tensor each conv reads and writes,
/// whether ReLU6 follows and which conv carries the stride), and this constructor is one loop over it. The Fig. 4
/// variants and the Sec. 4.4 ablations are values of <see cref="BlockLayout"/>, not subclasses; the sandglass layout
/// builds exactly the modules it built before layouts existed, so <c>mobilenext_*</c> keys and weights are unchanged.
/// </para>
/// </remarks>
public sealed class SandglassBlock : nn.Module<Tensor, Tensor>, IExpansionTap
{
    private readonly Sequential conv;
    private readonly int expandEnd; // number of leading layers up to and including the conv (+ BN, + ReLU6) that writes the wide tensor

    /// <summary>Builds the block <paramref name="spec"/> describes.</summary>
    /// <param name="spec">Widths, stride, layout, which depthwise convs and whether a shortcut.</param>
    /// <param name="identityMultiplier">α in [0, 1]; used only when the block has a shortcut.</param>
    public SandglassBlock(BlockSpec spec, double identityMultiplier = 1.0) : this(spec, identityMultiplier, fused: false) { }

    /// <summary>Builds the block; with <paramref name="fused"/> its convs have biases and its norms are identities.</summary>
    internal SandglassBlock(BlockSpec spec, double identityMultiplier, bool fused) : base(nameof(SandglassBlock))
    {
        ArgumentNullException.ThrowIfNull(spec);
        IdentityShortcutValidation.Validate(identityMultiplier);
        var layout = spec.Layout;
        layout.Validate();
        if (spec.Stride is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(spec), spec.Stride, "Stride must be 1 or 2.");
        if (spec.Stride != 1 && !spec.Builds(layout.StrideStep))
            throw new ArgumentException("A strided block needs the conv that carries its stride (the sandglass block's last depthwise conv).", nameof(spec));
        if (spec.HasShortcut && (spec.InChannels != spec.OutChannels || spec.Stride != 1))
            throw new ArgumentException($"A shortcut needs equal input and output channels and stride 1; got {spec}.", nameof(spec));
        Spec = spec;
        IdentityMultiplier = identityMultiplier;

        var layers = new List<nn.Module<Tensor, Tensor>>();
        for (int i = 0; i < layout.Steps.Count; i++)
        {
            var step = layout.Steps[i];
            if (!spec.Builds(i)) continue;
            int input = spec.Channels(step.From), output = spec.Channels(step.To);
            layers.Add(ConvLayers.Conv(input, output, step.Depthwise ? 3 : 1, step.Strided ? spec.Stride : 1, step.Depthwise ? input : 1, fused)); // dw or pw
            layers.Add(ConvLayers.Norm(output, fused));
            if (step.Activated) layers.Add(ConvLayers.Act());
            if (i == layout.ExpansionStep) expandEnd = layers.Count;
        }
        conv = nn.Sequential(layers);
        RegisterComponents();
    }

    /// <summary>What this block is made of.</summary>
    public BlockSpec Spec { get; }

    /// <summary>The identity tensor multiplier α this block's shortcut uses.</summary>
    public double IdentityMultiplier { get; private set; }

    /// <summary>The block's layers, in order (conv, BN and ReLU6 modules), as the released code names them.</summary>
    public Sequential Layers => conv;

    /// <summary>Changes α. It changes no parameter, only which channels the shortcut reaches.</summary>
    public void SetIdentityMultiplier(double alpha)
    {
        IdentityShortcutValidation.Validate(alpha);
        IdentityMultiplier = alpha;
    }

    /// <summary>Channels that receive the input through the shortcut: ⌊αC⌋, or 0 without a shortcut.</summary>
    public int ShortcutChannels => Spec.HasShortcut ? IdentityShortcut.Channels(IdentityMultiplier, Spec.OutChannels) : 0;

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        var y = ConvLayers.Run(conv, x);
        return Spec.HasShortcut ? IdentityShortcut.AddInPlace(y, x, IdentityMultiplier) : y;
    }

    /// <summary>
    /// Runs the block and also returns the expanding pointwise conv's activated output (in the sandglass block, before
    /// the last depthwise conv; in general, the output of <see cref="BlockLayout.ExpansionStep"/>): the tap SSDLite
    /// attaches to (Sec. 4.5).
    /// </summary>
    public (Tensor Output, Tensor Expanded) ForwardWithExpandedTap(Tensor x)
    {
        using var scope = NewDisposeScope();
        var expanded = x;
        for (int i = 0; i < expandEnd; i++) expanded = ConvLayers.Run((nn.Module<Tensor, Tensor>)conv[i], expanded);
        var y = expanded;
        for (int i = expandEnd; i < conv.Count; i++) y = ConvLayers.Run((nn.Module<Tensor, Tensor>)conv[i], y);
        if (ReferenceEquals(y, expanded)) y = expanded.clone(); // the shortcut adds in place: keep the tap intact
        if (Spec.HasShortcut) IdentityShortcut.AddInPlace(y, x, IdentityMultiplier);
        return (y.MoveToOuterDisposeScope(), expanded.MoveToOuterDisposeScope());
    }
}
