using MobileNeXt.Architecture;
using MobileNeXt.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Models;

/// <summary>
/// MobileNeXt (Zhou et al., ECCV 2020, Table 2): a 3×3 stride-2 stem, 20 sandglass blocks, global average pooling,
/// dropout and a linear classifier. With <see cref="MobileNeXtVariant.Released"/> (the default) its state_dict keys
/// and shapes are the released PyTorch code's, so its checkpoints load unchanged.
/// </summary>
public sealed class MobileNeXtNet : ImageClassifier
{
    private readonly Sequential features;
    private readonly AdaptiveAvgPool2d avgpool;
    private Sequential classifier;
    private readonly int tap8Block, tap16Block;
    private readonly bool tap16Expanded;

    /// <summary>Builds the network the options describe, with the released initialisation.</summary>
    public MobileNeXtNet(MobileNeXtOptions? options = null) : this(MobileNeXtPlan.Create(options)) { }

    /// <summary>Builds the network of a plan (see <see cref="MobileNeXtPlan.Create(MobileNeXtOptions?)"/>).</summary>
    public MobileNeXtNet(MobileNeXtPlan plan) : base(nameof(MobileNeXtNet))
    {
        ArgumentNullException.ThrowIfNull(plan);
        Plan = plan;
        var options = plan.Options;
        var layers = new List<nn.Module<Tensor, Tensor>>
        {
            // stem: conv 3×3 stride 2 + BN + ReLU6 (Table 2, row 1)
            nn.Sequential(ConvLayers.Conv(options.InChannels, plan.StemChannels, 3, stride: 2), ConvLayers.Norm(plan.StemChannels), ConvLayers.Act()),
        };
        layers.AddRange(plan.Blocks.Select(b => new SandglassBlock(b, options.IdentityMultiplier)));
        features = nn.Sequential(layers);
        avgpool = nn.AdaptiveAvgPool2d(1);
        classifier = Head(plan.FeatureChannels, options.NumClasses, options.DropRate);
        (tap8Block, tap16Block, tap16Expanded) = LocateTaps(plan.Blocks);
        RegisterComponents();
        ConvLayers.InitializeWeights(this);
    }

    /// <summary>The plan this network was built from: options, stem width and every block.</summary>
    public MobileNeXtPlan Plan { get; }

    /// <summary>The sandglass blocks in order (<c>features.1</c> … <c>features.20</c>).</summary>
    public IEnumerable<SandglassBlock> Blocks => features.children().OfType<SandglassBlock>();

    /// <summary>The stem and the blocks, as the released code's <c>features</c> Sequential.</summary>
    public Sequential Features => features;

    /// <inheritdoc />
    public override int InChannels => Plan.Options.InChannels;

    /// <inheritdoc />
    public override int NumFeatures => Plan.FeatureChannels;

    /// <inheritdoc />
    public override int NumClasses => classifier[1] is Linear l ? (int)l.out_features : 0;

    /// <summary>The identity tensor multiplier α every shortcut currently uses.</summary>
    public double IdentityMultiplier => Blocks.First().IdentityMultiplier;

    /// <summary>
    /// Sets α on every block (Sec. 3.3). It changes no parameter; it changes outputs, so load a checkpoint
    /// with the α it was trained with (the 74.09 % checkpoint used 1/2).
    /// </summary>
    public void SetIdentityMultiplier(double alpha)
    {
        IdentityShortcutValidation.Validate(alpha);
        foreach (var block in Blocks) block.SetIdentityMultiplier(alpha);
    }

    /// <inheritdoc />
    public override IReadOnlyList<FeatureTap> FeatureTaps
    {
        get
        {
            var b16 = Plan.Blocks[tap16Block - 1];
            return
            [
                new($"features.{tap8Block}", 8, Plan.Blocks[tap8Block - 1].OutChannels),
                tap16Expanded
                    ? new($"features.{tap16Block}.conv.{(b16.FirstDepthwise ? 7 : 4)}", 16, b16.OutChannels)
                    : new($"features.{tap16Block}", 16, b16.OutChannels),
                new($"features.{Plan.Blocks.Count}", 32, Plan.FeatureChannels),
            ];
        }
    }

    /// <inheritdoc />
    public override Tensor ForwardFeatures(Tensor x)
    {
        ValidateInput(x);
        return features.call(x);
    }

    /// <inheritdoc />
    public override Tensor ForwardHead(Tensor features, bool preLogits = false)
    {
        using var scope = NewDisposeScope();
        var pooled = avgpool.call(features).flatten(1);
        return (preLogits ? pooled : classifier.call(pooled)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override IReadOnlyList<Tensor> ForwardFeatureTaps(Tensor x)
    {
        ValidateInput(x);
        using var scope = NewDisposeScope();
        var taps = new List<Tensor>();
        var y = x;
        for (int i = 0; i < features.Count; i++)
        {
            var module = (nn.Module<Tensor, Tensor>)features[i];
            if (i == tap16Block && tap16Expanded)
            {
                var (output, expanded) = ((SandglassBlock)module).ForwardWithExpandedTap(y);
                taps.Add(expanded);
                y = output;
            }
            else
            {
                y = module.call(y);
                if (i == tap8Block || (i == tap16Block && !tap16Expanded)) taps.Add(y);
            }
        }
        taps.Add(y);
        return taps.Select(t => t.MoveToOuterDisposeScope()).ToList();
    }

    /// <inheritdoc />
    public override void ResetClassifier(int numClasses)
    {
        if (numClasses < 0) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "numClasses must be 0 (no classifier) or positive.");
        var head = Head(Plan.FeatureChannels, numClasses, Plan.Options.DropRate);
        ConvLayers.InitializeWeights(head);
        ReplaceModule(nameof(classifier), ref classifier, head);
    }

    internal static Sequential Head(int features, int numClasses, double dropRate) =>
        nn.Sequential(nn.Dropout(dropRate), numClasses > 0 ? nn.Linear(features, numClasses) : nn.Identity());

    /// <summary>
    /// Finds the feature taps from the blocks' strides: the last block at output stride 8, and the last pointwise
    /// conv at output stride 16 — the expanding pw of the block that goes to stride 32, where SSDLite attaches (Sec. 4.5).
    /// Indices are into <c>features</c> (block i is <c>features.i</c>).
    /// </summary>
    private static (int Tap8, int Tap16, bool Expanded) LocateTaps(IReadOnlyList<BlockSpec> blocks)
    {
        int stride = 2, tap8 = -1, tap16 = -1;
        bool expanded = false;
        for (int i = 0; i < blocks.Count; i++)
        {
            int before = stride;
            stride *= blocks[i].Stride;
            if (stride == 8) tap8 = i + 1;
            if (before == 16 && stride == 32) { tap16 = i + 1; expanded = true; }
            else if (stride == 16 && !expanded) tap16 = i + 1;
        }
        if (stride != 32 || tap8 < 0 || tap16 < 0)
            throw new ArgumentException("The stage table must reach output strides 8, 16 and 32.");
        return (tap8, tap16, expanded);
    }
}
