using MobileNeXt.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Models;

/// <summary>
/// What every network of this library answers (the interface of timm's models): features, head, classifier
/// reset, feature taps. <c>call(x)</c> gives logits for an N×C×H×W batch. Subclasses build a <c>features</c>
/// Sequential; the head (global average pooling, dropout, linear as <c>classifier.1</c>) is common. A network whose
/// released keys carry no such prefix (MobileNeXt†) registers the same parts under their own names (<c>BuildFlat</c>).
/// </summary>
public abstract class ImageClassifier : nn.Module<Tensor, Tensor>
{
    /// <summary>Smallest input side accepted: five stride-2 stages need at least 32 pixels.</summary>
    public const int MinInputSize = 32;

    // Field names are the PyTorch state_dict keys ("features.…", "classifier.1.…").
    private Sequential features = null!;
    private AdaptiveAvgPool2d avgpool = null!;
    private Sequential classifier = null!;
    private double dropRate;
    private IReadOnlyList<(int Index, bool Expanded)> tapPoints = [];
    private string? linearKey; // set by a flat layout: the classifier's key (MobileNeXt†: "_fc")

    /// <summary>Creates the module with its registered name.</summary>
    /// <param name="name">The module's name.</param>
    /// <param name="fused">Whether this is a fused copy (convs with bias, no BatchNorm); see <see cref="Fuse"/>.</param>
    protected ImageClassifier(string name, bool fused = false) : base(CheckRuntime(name)) => IsFused = fused;

    // Runs before nn.Module's constructor touches the native library, so a missing backend is one clear sentence.
    private static string CheckRuntime(string name)
    {
        TorchRuntime.EnsureAvailable();
        return name;
    }

    /// <summary>Whether BatchNorm has been folded into the convs (a copy made by <see cref="Fuse"/>).</summary>
    public bool IsFused { get; }

    /// <summary>
    /// An eval-mode copy for inference with every BatchNorm folded into the conv before it
    /// (<c>w' = w·γ/√(σ²+ε)</c>, <c>b' = β − μ·γ/√(σ²+ε)</c>): same outputs, fewer operations, no BatchNorm left.
    /// The copy's state_dict has conv biases and no BatchNorm entries. This model is left unchanged.
    /// </summary>
    public ImageClassifier Fuse()
    {
        if (IsFused) throw new InvalidOperationException("This model is already fused.");
        var shell = CreateFusedShell();
        BatchNormFolding.FoldInto(this, shell);
        shell.eval();
        return shell;
    }

    /// <summary>The same architecture built with biased convs and identity norms, to receive folded weights.</summary>
    protected abstract ImageClassifier CreateFusedShell();

    /// <summary>
    /// Sets the backbone and builds the head; then registers every component and applies the released initialisation.
    /// Call once, last, from the subclass constructor.
    /// </summary>
    /// <param name="backbone">The <c>features</c> Sequential.</param>
    /// <param name="numFeatures">Channels of the backbone's output.</param>
    /// <param name="numClasses">Classes of the linear classifier (0: none).</param>
    /// <param name="dropRate">Dropout before the classifier.</param>
    /// <param name="taps">For strides 8, 16, 32: the index into <paramref name="backbone"/> of the block whose output is the
    /// tap, or whose expansion is (<c>Expanded</c>, the block implementing <see cref="IExpansionTap"/>).</param>
    protected void Build(Sequential backbone, int numFeatures, int numClasses, double dropRate, IReadOnlyList<(int Index, bool Expanded)> taps)
    {
        features = backbone;
        avgpool = nn.AdaptiveAvgPool2d(1);
        NumFeatures = numFeatures;
        this.dropRate = dropRate;
        classifier = Head(numClasses);
        tapPoints = taps;
        RegisterComponents();
        ConvLayers.InitializeWeights(this);
    }

    /// <summary>
    /// Like <see cref="Build(Sequential, int, int, double, IReadOnlyList{ValueTuple{int, bool}})"/> for a network whose
    /// released keys have no <c>features.</c>/<c>classifier.</c> prefix (MobileNeXt†'s <c>_conv_stem</c>, <c>_blocks</c>,
    /// <c>_fc</c>): the named children of <paramref name="backbone"/> are registered on the model itself, and the
    /// classifier as <paramref name="classifierKey"/>. The weights keep PyTorch's default initialisation, as the
    /// released code does.
    /// </summary>
    protected void BuildFlat(Sequential backbone, int numFeatures, int numClasses, double dropRate, string classifierKey)
    {
        features = backbone;
        avgpool = nn.AdaptiveAvgPool2d(1);
        NumFeatures = numFeatures;
        this.dropRate = dropRate;
        linearKey = classifierKey;
        classifier = Head(numClasses);
        RegisterComponents();
        _internal_submodules.Remove(nameof(features));
        _internal_submodules.Remove(nameof(classifier));
        foreach (var (name, child) in backbone.named_children()) register_module(name, child);
        RegisterHead(classifier);
    }

    // A flat layout registers the head's children (dropout, linear) under their own names.
    private void RegisterHead(Sequential head)
    {
        if (linearKey is null)
        {
            register_module(nameof(classifier), head);
            return;
        }
        foreach (var (name, child) in head.named_children()) register_module(name, child);
    }

    /// <summary>Global average pooling of the head.</summary>
    internal AdaptiveAvgPool2d Pool => avgpool;

    /// <summary>Dropout and linear (or identity) of the head.</summary>
    internal Sequential Classifier => classifier;

    /// <summary>Whether the backbone's and head's children are registered on the model itself (<see cref="BuildFlat"/>).</summary>
    internal bool IsFlat => linearKey is not null;

    /// <summary>The backbone, as the PyTorch code's <c>features</c> Sequential.</summary>
    public Sequential Features => features;

    /// <summary>Input channels the stem expects.</summary>
    public abstract int InChannels { get; }

    /// <summary>Width of the pooled features fed to the classifier.</summary>
    public int NumFeatures { get; private set; }

    /// <summary>Number of classes the classifier predicts (0 when it has been reset to none).</summary>
    public int NumClasses => classifier[1] is Linear l ? (int)l.out_features : 0;

    /// <summary>The feature maps <see cref="ForwardFeatureTaps"/> returns, in order: output strides 8, 16 and 32.</summary>
    public abstract IReadOnlyList<FeatureTap> FeatureTaps { get; }

    /// <summary>The backbone: input batch to the last feature map (N×<see cref="NumFeatures"/>×H/32×W/32).</summary>
    public Tensor ForwardFeatures(Tensor x)
    {
        ValidateInput(x);
        return ConvLayers.Run(features, x); // pointwise convs of a channels-last batch as GEMMs (see Run)
    }

    /// <summary>Pooling, dropout and classifier. With <paramref name="preLogits"/> it returns the pooled features.</summary>
    public Tensor ForwardHead(Tensor features, bool preLogits = false)
    {
        using var scope = NewDisposeScope();
        var pooled = avgpool.call(features).flatten(1);
        return (preLogits ? pooled : classifier.call(pooled)).MoveToOuterDisposeScope();
    }

    /// <summary>The maps of <see cref="FeatureTaps"/> for one batch, in the same order.</summary>
    public virtual IReadOnlyList<Tensor> ForwardFeatureTaps(Tensor x)
    {
        var (taps, output) = ForwardTaps(x, tapPoints);
        output.Dispose();
        return taps;
    }

    /// <summary>
    /// Runs the whole backbone and hands out the maps at <paramref name="points"/> (index into <see cref="Features"/>;
    /// <c>Expanded</c>: the block's expansion, through <see cref="IExpansionTap"/>, else its output) in the order the
    /// backbone reaches them, with the backbone's last map. <see cref="ForwardFeatureTaps"/> and SSDLite's taps use it.
    /// </summary>
    internal (IReadOnlyList<Tensor> Taps, Tensor Output) ForwardTaps(Tensor x, IReadOnlyList<(int Index, bool Expanded)> points)
    {
        ValidateInput(x);
        using var scope = NewDisposeScope();
        var taps = new List<Tensor>();
        var y = x;
        for (int i = 0; i < features.Count; i++)
        {
            var block = (nn.Module<Tensor, Tensor>)features[i];
            if (points.Contains((i, true)))
            {
                var (output, expanded) = ((IExpansionTap)block).ForwardWithExpandedTap(y);
                taps.Add(expanded);
                y = output;
                continue;
            }
            y = ConvLayers.Run(block, y);
            if (points.Contains((i, false))) taps.Add(y);
        }
        // The last map may itself be a tap: hand it out twice as two tensors, so each can be disposed on its own.
        var last = taps.Count > 0 && ReferenceEquals(taps[^1], y) ? y.alias() : y;
        return (taps.Select(t => t.MoveToOuterDisposeScope()).ToList(), last.MoveToOuterDisposeScope());
    }

    /// <summary>Replaces the classifier with a new, freshly initialised one for <paramref name="numClasses"/> classes (0 = none: logits become pooled features).</summary>
    public void ResetClassifier(int numClasses)
    {
        var head = Head(numClasses);
        ConvLayers.InitializeWeights(head);
        var old = classifier;
        classifier = head;
        // register_module refuses a name that is taken
        if (linearKey is null) _internal_submodules.Remove(nameof(classifier));
        else foreach (var (name, _) in old.named_children()) _internal_submodules.Remove(name);
        RegisterHead(head);
        old.Dispose();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var features = ForwardFeatures(x);
        return ForwardHead(features).MoveToOuterDisposeScope();
    }

    /// <summary>Dropout, then a linear layer (architecture.md, "Head"); index 1 is the linear layer, as in PyTorch.</summary>
    private Sequential Head(int numClasses)
    {
        if (numClasses < 0) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "numClasses must be 0 (no classifier) or positive.");
        nn.Module<Tensor, Tensor> linear = numClasses > 0 ? nn.Linear(NumFeatures, numClasses) : nn.Identity();
        return linearKey is null
            ? nn.Sequential(nn.Dropout(dropRate), linear)
            : nn.Sequential(("_dropout", nn.Dropout(dropRate)), (linearKey, linear));
    }

    /// <summary>
    /// Checks an input batch and throws an <see cref="ArgumentException"/> that says what is wrong and what to pass.
    /// </summary>
    protected void ValidateInput(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Dimensions != 4)
            throw new ArgumentException(
                $"Expected a 4-D batch N×{InChannels}×H×W, got a {x.Dimensions}-D tensor of shape [{string.Join(", ", x.shape)}]." +
                (x.Dimensions == 3 ? " For one image, add the batch dimension: x.unsqueeze(0)." : ""), nameof(x));
        if (x.shape[1] != InChannels)
            throw new ArgumentException(
                $"Expected {InChannels} input channels, got {x.shape[1]} (shape [{string.Join(", ", x.shape)}]). " +
                "Pass channels-first (N×C×H×W) images" + (InChannels == 3 ? "; convert greyscale to RGB." : "."), nameof(x));
        if (x.shape[2] < MinInputSize || x.shape[3] < MinInputSize)
            throw new ArgumentException(
                $"Input {x.shape[2]}×{x.shape[3]} is smaller than the minimum {MinInputSize}×{MinInputSize} (the network downsamples by 32). Resize the images first.", nameof(x));
        if (!x.is_floating_point())
            throw new ArgumentException($"Expected a floating-point tensor, got {x.dtype}. Convert and normalise the images first.", nameof(x));
    }
}
