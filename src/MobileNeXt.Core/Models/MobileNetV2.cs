using MobileNeXt.Architecture;
using MobileNeXt.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Models;

/// <summary>Options for <see cref="MobileNetV2"/>, the baseline of the paper's Table 3.</summary>
public sealed record MobileNetV2Options
{
    /// <summary>Width multiplier (Table 3: 0.35 … 1.4). Default 1.0.</summary>
    public double Width { get; init; } = 1.0;

    /// <summary>Number of classes; 0 builds no classifier. Default 1000.</summary>
    public int NumClasses { get; init; } = 1000;

    /// <summary>Dropout before the classifier. Default 0.2 (torchvision).</summary>
    public double DropRate { get; init; } = 0.2;

    /// <summary>Input channels. Default 3.</summary>
    public int InChannels { get; init; } = 3;

    /// <summary>
    /// Insert a second 3×3 depthwise conv (+ BN + ReLU6, stride 1) on the expanded tensor just before each block's
    /// (possibly strided) depthwise conv: the paper's "MobileNetV2 with one more depthwise convolution inserted in the
    /// middle of each inverted residual block" (Sec. 4.3, Table 5: 3.6 M / 340 M). Before the strided conv it runs at the
    /// block's input resolution: 334.4 M MACs, the reading nearest the paper's 340 M (after it: 321.5 M). Default false
    /// (torchvision's network).
    /// </summary>
    public bool ExtraDepthwise { get; init; }

    /// <summary>Throws an <see cref="ArgumentOutOfRangeException"/> naming the first invalid value.</summary>
    public void Validate()
    {
        // The same ranges as MobileNeXt's options, checked by the same code.
        new MobileNeXtOptions { Width = Width, NumClasses = NumClasses, DropRate = DropRate, InChannels = InChannels }.Validate();
    }
}

/// <summary>
/// MobileNetV2 (Sandler et al., CVPR 2018) in torchvision's layout: the same state_dict keys and shapes as
/// <c>torchvision.models.mobilenet_v2</c> (3,504,872 parameters at width 1.0), the baseline MobileNeXt is compared with.
/// </summary>
public sealed class MobileNetV2 : ImageClassifier
{
    private const int Tap8 = 6, Tap16 = 14, Tap32 = 18;

    /// <summary>Builds the network with torchvision's initialisation.</summary>
    public MobileNetV2(MobileNetV2Options? options = null) : this(options, fused: false) { }

    private MobileNetV2(MobileNetV2Options? options, bool fused) : base(nameof(MobileNetV2), fused)
    {
        Options = options ??= new MobileNetV2Options();
        options.Validate();
        int input = ChannelRounding.MakeDivisible(32 * options.Width);
        int last = ChannelRounding.MakeDivisible(StageTables.MobileNetV2LastChannels * Math.Max(1.0, options.Width));
        var layers = new List<nn.Module<Tensor, Tensor>> { ConvNormAct(options.InChannels, input, 3, 2, fused: fused) };
        foreach (var stage in StageTables.MobileNetV2)
        {
            int output = ChannelRounding.MakeDivisible(stage.Channels * options.Width);
            for (int i = 0; i < stage.Repeats; i++)
            {
                layers.Add(new InvertedResidual(input, output, i == 0 ? stage.Stride : 1, stage.ReductionRatio, fused, options.ExtraDepthwise));
                input = output;
            }
        }
        layers.Add(ConvNormAct(input, last, 1, 1, fused: fused));
        Build(nn.Sequential(layers), last, options.NumClasses, options.DropRate, [(Tap8, false), (Tap16, true), (Tap32, false)]);
    }

    /// <inheritdoc />
    public override int InChannels => Options.InChannels;

    /// <summary>The options the network was built with.</summary>
    public MobileNetV2Options Options { get; }

    /// <summary>
    /// Stride 8: the end of the 32-channel stage (<c>features.6</c>); stride 16: the expansion of the first block that
    /// goes to stride 32 (<c>features.14.conv.0</c>, "layer 15" where SSDLite attaches in the MobileNetV2 paper);
    /// stride 32: the last 1×1 conv.
    /// </summary>
    public override IReadOnlyList<FeatureTap> FeatureTaps =>
    [
        new($"features.{Tap8}", 8, ((InvertedResidual)Features[Tap8]).OutChannels),
        new($"features.{Tap16}.conv.0", 16, ((InvertedResidual)Features[Tap16]).HiddenChannels),
        new($"features.{Tap32}", 32, NumFeatures),
    ];

    /// <summary>torchvision's Conv2dNormActivation: conv (no bias) + BN + ReLU6, keys <c>.0</c>, <c>.1</c>.</summary>
    internal static Sequential ConvNormAct(long input, long output, long kernel, long stride, long groups = 1, bool fused = false) =>
        nn.Sequential(ConvLayers.Conv(input, output, kernel, stride, groups, fused), ConvLayers.Norm(output, fused), ConvLayers.Act());

    /// <inheritdoc />
    protected override ImageClassifier CreateFusedShell() => new MobileNetV2(Options with { NumClasses = NumClasses }, fused: true);
}

/// <summary>MobileNetV2's inverted residual block in torchvision's layout (keys <c>conv.0.0</c> … <c>conv.3</c>).</summary>
public sealed class InvertedResidual : nn.Module<Tensor, Tensor>, IExpansionTap
{
    private readonly Sequential conv;
    private readonly bool useShortcut;
    private readonly bool expands;

    /// <summary>Builds the block: [pw expand + BN + ReLU6] → dw 3×3 stride s + BN + ReLU6 → pw linear + BN.</summary>
    public InvertedResidual(int input, int output, int stride, int expandRatio) : this(input, output, stride, expandRatio, fused: false, extraDepthwise: false) { }

    internal InvertedResidual(int input, int output, int stride, int expandRatio, bool fused, bool extraDepthwise) : base(nameof(InvertedResidual))
    {
        OutChannels = output;
        HiddenChannels = (int)Math.Round((double)input * expandRatio, MidpointRounding.ToEven);
        useShortcut = stride == 1 && input == output;
        expands = expandRatio != 1;
        var layers = new List<nn.Module<Tensor, Tensor>>();
        if (expands) layers.Add(MobileNetV2.ConvNormAct(input, HiddenChannels, 1, 1, fused: fused)); // pw expand
        if (extraDepthwise) layers.Add(MobileNetV2.ConvNormAct(HiddenChannels, HiddenChannels, 3, 1, groups: HiddenChannels, fused: fused)); // second dw (Table 5), before the strided one
        layers.Add(MobileNetV2.ConvNormAct(HiddenChannels, HiddenChannels, 3, stride, groups: HiddenChannels, fused: fused)); // dw
        layers.Add(ConvLayers.Conv(HiddenChannels, output, 1, fused: fused)); // pw project, linear
        layers.Add(ConvLayers.Norm(output, fused));
        conv = nn.Sequential(layers);
        RegisterComponents();
    }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <summary>Expanded width, <c>round(in · t)</c>.</summary>
    public int HiddenChannels { get; }

    /// <summary>Whether the block adds its input back: stride 1 and as many output as input channels (MobileNetV2, Sec. 3.3).</summary>
    public bool HasShortcut => useShortcut;

    /// <summary>The block's layers in order, as torchvision names them (<c>conv.0</c> … <c>conv.3</c>).</summary>
    public Sequential Layers => conv;

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        var y = ConvLayers.Run(conv, x);
        return useShortcut ? y.add_(x, KeptScalars.One) : y;
    }

    /// <summary>Runs the block and also returns the expansion's output (the SSDLite tap).</summary>
    public (Tensor Output, Tensor Expanded) ForwardWithExpandedTap(Tensor x)
    {
        if (!expands) throw new InvalidOperationException("This block has no expansion layer.");
        using var scope = NewDisposeScope();
        var expanded = ConvLayers.Run((nn.Module<Tensor, Tensor>)conv[0], x);
        var y = expanded;
        for (int i = 1; i < conv.Count; i++) y = ConvLayers.Run((nn.Module<Tensor, Tensor>)conv[i], y);
        if (useShortcut) y.add_(x, KeptScalars.One);
        return (y.MoveToOuterDisposeScope(), expanded.MoveToOuterDisposeScope());
    }
}
