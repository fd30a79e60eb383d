using MobileNeXt.Architecture;
using MobileNeXt.Detection.Boxes;
using MobileNeXt.Interop;
using MobileNeXt.Layers;
using MobileNeXt.Models;
using MobileNeXt.Profiling;
using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace MobileNeXt.Detection;

/// <summary>
/// SSDLite (Sandler et al., CVPR 2018, Sec. 6.2; the detector of the MobileNeXt paper's Table 8) on a classification
/// backbone: two backbone taps and four extra layers give six maps, each read by a class head and a box head.
/// <c>call(x)</c> on an N×3×S×S batch returns the raw class logits (N × priors × classes) and box regressions
/// (N × priors × 4) in the order of <see cref="Priors"/>; <see cref="Detect"/> turns them into boxes.
/// </summary>
/// <remarks>
/// Built by <see cref="CreateMobileNeXt"/>, its state_dict is the authors' released detector's exactly (610 entries at
/// VOC's 21 classes: <c>backbone.features.*</c>, <c>backbone.extras.*</c>, <c>box_head.predictor.{cls,reg}_headers.*</c>;
/// houqb/ssdlite-pytorch-mobilenext), so its checkpoints load with <c>ModelWeights.Load</c>.
/// </remarks>
public sealed class SsdLite : nn.Module<Tensor, (Tensor Scores, Tensor Boxes)>
{
    private readonly SsdLiteBackbone backbone;
    [ComponentName(Name = "box_head")]
    private readonly BoxHead boxHead;
    private readonly Lazy<Tensor> priors;

    /// <summary>Builds SSDLite on <paramref name="network"/>'s <c>features</c>, which it takes over (and disposes).</summary>
    /// <param name="network">The backbone network; its classifier is not used (build it with 0 classes).</param>
    /// <param name="taps">The stride-16 and stride-32 maps the first two levels read.</param>
    /// <param name="options">Classes, input size, extras, priors, box coding; null for the released VOC detector's.</param>
    public SsdLite(ImageClassifier network, IReadOnlyList<BackboneTap> taps, SsdLiteOptions? options = null) : this(network, taps, options, fused: false) { }

    private SsdLite(ImageClassifier network, IReadOnlyList<BackboneTap> taps, SsdLiteOptions? options, bool fused) : base(nameof(SsdLite))
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(taps);
        Options = options ??= new SsdLiteOptions();
        options.Validate();
        if (network.InChannels != 3) throw new ArgumentException($"SSDLite reads RGB images; the backbone takes {network.InChannels} channels.", nameof(network));
        IsFused = fused;
        backbone = new SsdLiteBackbone(network, taps, options.Extras, fused);
        boxHead = new BoxHead(new BoxPredictor(backbone.OutChannels, options.Priors.Select(l => l.PriorsPerLocation).ToArray(), options.NumClasses, fused));
        RegisterComponents();
        priors = new Lazy<Tensor>(() => PriorBoxes.Create(options));
    }

    /// <summary>
    /// The authors' SSDLite320-MobileNeXt: MobileNeXt's <c>features</c> (the released layout, ReLU6, full shortcut),
    /// tapped inside block 13 after its expanding pw + BN + ReLU6 (576 channels at stride 16, before the stride-2 dw)
    /// and inside block 20 after its second ReLU6 (1280 channels at stride 32, before its last dw + BN, whose output
    /// feeds the extras) — the released backbone's forward (ssd/modeling/backbone/mobilenext.py), followon-models.md §B.
    /// 3,476,308 parameters and 708,726,528 conv MACs at 320² with 21 classes.
    /// </summary>
    /// <param name="options">Classes, input size, extras, priors; null for the released VOC detector's.</param>
    /// <param name="width">MobileNeXt's width multiplier (Table 3). Default 1.0, the released detector's.</param>
    public static SsdLite CreateMobileNeXt(SsdLiteOptions? options = null, double width = 1.0)
    {
        var network = new MobileNeXtNet(new MobileNeXtOptions { Width = width, NumClasses = 0 });
        var blocks = network.Blocks.ToList();
        // Block 13 is the one that goes from stride 16 to 32; block 20 the last (indices into features = block numbers).
        return new SsdLite(network, [new(StrideChangingBlock(network), true), new(blocks.Count, true)], options);
    }

    /// <summary>
    /// SSDLite on torchvision's MobileNetV2, attached as the MobileNetV2 paper attaches it (Sec. 6.2: "the first layer of
    /// SSDLite is attached to the expansion of layer 15 (with output stride of 16). The second and the rest of SSDLite
    /// layers are attached on top of the last layer (with output stride of 32)"): the expansion of <c>features.14</c>
    /// (576 channels at stride 16; the same place as MobileNeXt's tap) and the last 1×1 conv (<c>features.18</c>, 1280
    /// channels), with the same extras and heads as <see cref="CreateMobileNeXt"/>, so only the backbone differs
    /// (Table 8's comparison). The authors' repository configures its MobileNetV2 detector differently (the output of
    /// <c>features.13</c>, 96 channels, and inverted-residual extras; followon-models.md §B: 3.43 M / 682 M).
    /// </summary>
    public static SsdLite CreateMobileNetV2(SsdLiteOptions? options = null, double width = 1.0)
    {
        var network = new MobileNetV2(new MobileNetV2Options { Width = width, NumClasses = 0 });
        return new SsdLite(network, [new(StrideChangingBlock(network), true), new(network.Features.Count - 1, false)], options);
    }

    /// <summary>The index into <c>features</c> of the block whose depthwise conv takes the network from stride 16 to 32.</summary>
    private static int StrideChangingBlock(ImageClassifier network)
    {
        // The classifier's stride-16 tap names it: "features.{i}.conv.{j}".
        var name = network.FeatureTaps.Single(t => t.Stride == 16).Name;
        return int.Parse(name.Split('.')[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>What the detector was built with.</summary>
    public SsdLiteOptions Options { get; }

    /// <summary>Whether BatchNorm has been folded into the convs (a copy made by <see cref="Fuse"/>).</summary>
    public bool IsFused { get; }

    /// <summary>The backbone with its extras.</summary>
    public SsdLiteBackbone Backbone => backbone;

    /// <summary>The class and box heads.</summary>
    public BoxPredictor Predictor => boxHead.Predictor;

    /// <summary>
    /// The priors in centre-size form (cx, cy, w, h) relative to the image, one row per output row
    /// (<see cref="PriorBoxes.Create"/>); shared, do not dispose. They are computed on the CPU.
    /// </summary>
    public Tensor Priors => priors.Value;

    /// <inheritdoc />
    public override (Tensor Scores, Tensor Boxes) forward(Tensor x)
    {
        ValidateInput(x);
        using var scope = NewDisposeScope();
        var maps = backbone.call(x);
        var (scores, boxes) = boxHead.call(maps);
        return (scores.MoveToOuterDisposeScope(), boxes.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Runs the detector in eval mode without gradients and post-processes its outputs (<see cref="SsdPostProcessor"/>):
    /// one list of detections per image, boxes in pixels of the <see cref="SsdLiteOptions.ImageSize"/>² input.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<DetectedObject>> Detect(Tensor images, PostProcessingOptions? options = null)
    {
        bool wasTraining = training;
        eval();
        try
        {
            using var _ = no_grad();
            var (scores, boxes) = call(images);
            using (scores)
            using (boxes)
                return new SsdPostProcessor(Options, options).Process(scores, boxes, Priors);
        }
        finally
        {
            train(wasTraining);
        }
    }

    /// <summary>
    /// An eval-mode copy with every BatchNorm folded into the conv before it (the backbone through
    /// <see cref="ImageClassifier.Fuse"/>, extras and heads the same way): same outputs, no BatchNorm left. This model
    /// is left unchanged.
    /// </summary>
    public SsdLite Fuse()
    {
        if (IsFused) throw new InvalidOperationException("This detector is already fused.");
        var fused = new SsdLite(backbone.Network.Fuse(), backbone.Taps, Options, fused: true);
        BatchNormFolding.FoldInto(backbone.Extras, fused.backbone.Extras);
        BatchNormFolding.FoldInto(boxHead, fused.boxHead);
        fused.eval();
        return fused;
    }

    /// <summary>
    /// Initialises the backbone from a classification checkpoint of the same network (a <c>mobilenext train</c> result,
    /// the released <c>.pth.tar</c>, a torchvision MobileNetV2 <c>.pth</c>), as the paper does: every <c>features.*</c>
    /// weight is copied, the classifier's are ignored, extras and heads keep their initialisation. Unlike the released
    /// code's <c>strict=False</c> load, which loads nothing from a wrapped checkpoint without a word, every backbone key
    /// and shape is checked first.
    /// </summary>
    /// <exception cref="MobileNeXt.Interop.WeightsMismatchException">The file's <c>features.*</c> do not fit the backbone (listed in the message).</exception>
    public void LoadBackboneWeights(string path, CheckpointWeights which = CheckpointWeights.Auto)
    {
        const string prefix = "features.";
        var weights = ModelWeights.Read(path, which);
        try
        {
            var features = weights.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))
                .ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value);
            ModelWeights.Load(backbone.Network.Features, features, path);
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
    }

    /// <summary>
    /// Parameters and MACs (conv and linear multiply-accumulates, as Core's profiler counts them) for one
    /// <see cref="SsdLiteOptions.ImageSize"/>² image, per module and in total.
    /// </summary>
    public ProfileReport Profile() =>
        ModelProfiler.Profile(this, 3, Options.ImageSize, x =>
        {
            var (scores, boxes) = call(x);
            scores.Dispose();
            boxes.Dispose();
        });

    private void ValidateInput(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        int size = Options.ImageSize;
        if (x.Dimensions != 4 || x.shape[1] != 3 || x.shape[2] != size || x.shape[3] != size)
            throw new ArgumentException(
                $"Expected a batch N×3×{size}×{size} (the priors are laid out for {size}² inputs), got shape [{string.Join(", ", x.shape)}]." +
                (x.Dimensions == 3 ? " For one image, add the batch dimension: x.unsqueeze(0)." : " Resize the images to the detector's input size first."), nameof(x));
        if (!x.is_floating_point())
            throw new ArgumentException($"Expected a floating-point tensor, got {x.dtype}. Convert and normalise the images first.", nameof(x));
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing && priors.IsValueCreated) priors.Value.Dispose();
        base.Dispose(disposing);
    }
}
