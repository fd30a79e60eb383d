using MobileNeXt.Architecture;
using MobileNeXt.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MobileNeXt.Models;

/// <summary>
/// MobileNeXt† (Zhou et al., ECCV 2020, Table 6): MobileNeXt with squeeze-excite, swish and 5×5 depthwise stages, as
/// the authors' <c>efficient_mnext</c> code builds it (followon-models.md §A). Its state_dict keys and shapes are the
/// released code's (<c>_conv_stem</c>, <c>_bn0</c>, <c>_blocks.{i}</c>, <c>_bn1</c>, <c>_fc</c>), so its checkpoints load
/// unchanged. The head is average pooling, dropout and a linear layer on the last block's 1280 channels.
/// </summary>
public sealed class MobileNeXtSeNet : ImageClassifier
{
    private readonly List<SeSandglassBlock> blocks; // registered through the backbone, as _blocks
    private readonly List<FeatureTap> featureTaps = [];
    private readonly List<int> tapBlocks = [];

    /// <summary>Builds the network the options describe, with PyTorch's default initialisation (as released).</summary>
    public MobileNeXtSeNet(MobileNeXtSeOptions? options = null) : this(options, fused: false) { }

    private MobileNeXtSeNet(MobileNeXtSeOptions? options, bool fused) : base(nameof(MobileNeXtSeNet), fused)
    {
        Options = options ??= new MobileNeXtSeOptions();
        options.Validate();
        var specs = Plan(options);
        blocks = specs.Select(s => new SeSandglassBlock(s, fused)).ToList();
        LocateTaps(specs);
        var backbone = nn.Sequential(
            ("_stem_pad", new StaticZeroPad(SeLayers.StridedPadding(3))), // TF-"same" for the stride-2 stem: (0, 1)
            ("_conv_stem", SeLayers.Conv(options.InChannels, SeStageTables.StemChannels, 3, stride: 2, fused: fused)), // stem 3×3 s2
            ("_bn0", SeLayers.Norm(SeStageTables.StemChannels, fused)),
            ("_stem_act", SeLayers.Act()),
            ("_blocks", nn.Sequential(blocks.Cast<nn.Module<Tensor, Tensor>>())));
        BuildFlat(backbone, SeStageTables.FeatureChannels, options.NumClasses, options.DropRate, "_fc");
        // The released model builds a BatchNorm over the 1280 features that its forward never runs (§A, "Head");
        // it is kept so that the state_dict matches.
        register_module("_bn1", SeLayers.Norm(SeStageTables.FeatureChannels, fused));
    }

    /// <summary>The options the network was built with.</summary>
    public MobileNeXtSeOptions Options { get; }

    /// <summary>The blocks in order (<c>_blocks.0</c> …).</summary>
    public IReadOnlyList<SeSandglassBlock> Blocks => blocks;

    /// <inheritdoc />
    public override int InChannels => Options.InChannels;

    /// <summary>The outputs of the last blocks at output strides 8, 16 and 32.</summary>
    public override IReadOnlyList<FeatureTap> FeatureTaps => featureTaps;

    /// <inheritdoc />
    public override IReadOnlyList<Tensor> ForwardFeatureTaps(Tensor x)
    {
        ValidateInput(x);
        using var scope = NewDisposeScope();
        var taps = new List<Tensor>();
        var y = x;
        foreach (var (name, child) in Features.named_children())
        {
            if (name != "_blocks")
            {
                y = ConvLayers.Run((nn.Module<Tensor, Tensor>)child, y);
                continue;
            }
            for (int i = 0; i < blocks.Count; i++)
            {
                y = blocks[i].call(y);
                if (tapBlocks.Contains(i)) taps.Add(y);
            }
        }
        return taps.Select(t => t.MoveToOuterDisposeScope()).ToList();
    }

    /// <inheritdoc />
    protected override ImageClassifier CreateFusedShell() => new MobileNeXtSeNet(Options with { NumClasses = NumClasses }, fused: true);

    /// <summary>
    /// Every block's spec from the stage table: depth-scaled repeats, the stage's stride on its first block, and the
    /// drop-connect rate 0.2 · i / N by global block index (followon-models.md §A).
    /// </summary>
    public static IReadOnlyList<SeBlockSpec> Plan(MobileNeXtSeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var stages = SeStageTables.Stages.Select(s => (Stage: s, Repeats: SeStageTables.ScaledRepeats(s.Repeats, options.Depth))).ToList();
        int count = stages.Sum(s => s.Repeats), input = SeStageTables.StemChannels, index = 0;
        var specs = new List<SeBlockSpec>(count);
        foreach (var (stage, repeats) in stages)
        {
            for (int i = 0; i < repeats; i++, index++)
            {
                specs.Add(new SeBlockSpec(input, stage.Channels, stage.ReductionRatio, i == 0 ? stage.Stride : 1, stage.Kernel,
                    options.PointwiseGroups, options.DropConnectRate * index / count));
                input = stage.Channels;
            }
        }
        return specs;
    }

    private void LocateTaps(IReadOnlyList<SeBlockSpec> specs)
    {
        int stride = 2;
        var last = new Dictionary<int, int>();
        for (int i = 0; i < specs.Count; i++)
        {
            stride *= specs[i].Stride;
            last[stride] = i;
        }
        foreach (int s in new[] { 8, 16, 32 })
        {
            tapBlocks.Add(last[s]);
            featureTaps.Add(new FeatureTap($"_blocks.{last[s]}", s, specs[last[s]].OutChannels));
        }
    }
}
