using MobileNeXt.Layers;
using MobileNeXt.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Detection;

/// <summary>
/// SSDLite's backbone (the released code's <c>backbone</c>): a classification network's <c>features</c> with two taps,
/// then the extra layers; it returns the six maps the heads read (two taps, then each extra layer's output).
/// </summary>
public sealed class SsdLiteBackbone : nn.Module<Tensor, IReadOnlyList<Tensor>>
{
    // Field names are the PyTorch state_dict keys ("backbone.features.…", "backbone.extras.…").
    private readonly Sequential features;
    private readonly ModuleList<Sequential> extras;
    // The classifier owning the features: not a module field, so it is not registered a second time.
    private readonly NetworkReference network;
    private readonly (int Index, bool Expanded)[] taps;

    internal SsdLiteBackbone(ImageClassifier network, IReadOnlyList<BackboneTap> taps, IReadOnlyList<ExtraLayerSpec> extras, bool fused) : base("backbone")
    {
        if (taps.Count != 2) throw new ArgumentException($"SSDLite taps the backbone twice (strides 16 and 32); got {taps.Count} taps.", nameof(taps));
        foreach (var tap in taps)
            if (tap.Index < 0 || tap.Index >= network.Features.Count)
                throw new ArgumentOutOfRangeException(nameof(taps), tap, $"Tap index must be within the backbone's {network.Features.Count} layers.");
        if (taps[0].Index > taps[1].Index) throw new ArgumentException("List the taps in the order the backbone reaches them.", nameof(taps));
        this.network = new NetworkReference(network);
        this.taps = taps.Select(t => (t.Index, t.Expanded)).ToArray();
        Taps = taps;
        TapChannels = taps.Select(t => ChannelsAt(network, t)).ToArray();
        features = network.Features;
        var first = extras[0] with { In = network.NumFeatures };
        this.extras = new ModuleList<Sequential>(extras.Select((e, i) => ExtraLayer(i == 0 ? first : e, fused)).ToArray());
        RegisterComponents();
        if (!fused) ConvLayers.InitializeWeights(this.extras); // the released init: N(0, √(2/(k²·out))), as the backbone's convs
    }

    /// <summary>The classification network whose <c>features</c> this backbone runs.</summary>
    public ImageClassifier Network => network.Value;

    /// <summary>Where the two backbone maps are taken.</summary>
    public IReadOnlyList<BackboneTap> Taps { get; }

    /// <summary>Channels of the two tapped maps.</summary>
    public IReadOnlyList<int> TapChannels { get; }

    /// <summary>The extra layers, as the released code names them (<c>extras.0</c> … ).</summary>
    public ModuleList<Sequential> Extras => extras;

    /// <summary>Channels of the six maps: the two taps, then each extra layer's output.</summary>
    public IReadOnlyList<int> OutChannels => [.. TapChannels, .. extras.Select(e => (int)((Conv2d)e[5]).out_channels)];

    /// <inheritdoc />
    public override IReadOnlyList<Tensor> forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (tapped, y) = network.Value.ForwardTaps(x, taps);
        var maps = tapped.ToList();
        foreach (var extra in extras)
        {
            y = ConvLayers.Run(extra, y);
            maps.Add(y);
        }
        return maps.Select(m => m.MoveToOuterDisposeScope()).ToList();
    }

    /// <summary>dw 3×3 stride 2 + BN + ReLU6 → pw + BN → pw + BN + ReLU6; keys 0, 1, 3, 4, 5, 6 as <c>sg_block_extra</c>.</summary>
    private static Sequential ExtraLayer(ExtraLayerSpec spec, bool fused) => nn.Sequential(
        ConvLayers.Conv(spec.In, spec.In, 3, stride: 2, groups: spec.In, fused: fused), // dw, stride 2
        ConvLayers.Norm(spec.In, fused),
        ConvLayers.Act(),
        ConvLayers.Conv(spec.In, spec.Hidden, 1, fused: fused), // pw reduce, linear
        ConvLayers.Norm(spec.Hidden, fused),
        ConvLayers.Conv(spec.Hidden, spec.Out, 1, fused: fused), // pw expand
        ConvLayers.Norm(spec.Out, fused),
        ConvLayers.Act());

    /// <summary>Channels of the map a tap takes: a block's expansion or output, or the last layer's (the features' width).</summary>
    private static int ChannelsAt(ImageClassifier network, BackboneTap tap)
    {
        var block = network.Features[tap.Index];
        if (tap.Expanded)
            return block switch
            {
                SandglassBlock s => s.Spec.ExpansionChannels,
                InvertedResidual r => r.HiddenChannels,
                _ => throw new ArgumentException($"features.{tap.Index} ({block.GetType().Name}) has no expansion to tap.", nameof(tap)),
            };
        return block switch
        {
            SandglassBlock s => s.Spec.OutChannels,
            InvertedResidual r => r.OutChannels,
            _ when tap.Index == network.Features.Count - 1 => network.NumFeatures,
            _ => throw new ArgumentException($"Cannot tell the channels of features.{tap.Index} ({block.GetType().Name}).", nameof(tap)),
        };
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) network.Value.Dispose(); // its features are ours too; disposing twice is harmless
        base.Dispose(disposing);
    }

    private sealed record NetworkReference(ImageClassifier Value);
}
