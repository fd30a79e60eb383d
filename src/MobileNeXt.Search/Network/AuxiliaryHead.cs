using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Search.Network;

/// <summary>
/// DARTS's auxiliary classifier for 32×32 inputs (<c>AuxiliaryHeadCIFAR</c>, quark0/darts <c>cnn/model.py</c>), read from
/// the output of the cell at 2/3 of the depth (8×8 there): ReLU, 5×5 average pooling stride 3 (→ 2×2), 1×1 conv to 128 +
/// BN + ReLU, 2×2 conv to 768 + BN + ReLU, linear classifier. Its loss is added with weight 0.4 during training only
/// (<c>train.py --auxiliary_weight 0.4</c>).
/// </summary>
public sealed class AuxiliaryHead : nn.Module<Tensor, Tensor>
{
    /// <summary>Side of the feature map the head expects (a 32×32 image after two reductions).</summary>
    public const int InputSide = 8;

    private readonly Sequential features;
    private readonly Linear classifier;

    /// <summary>A head on <paramref name="channels"/> input channels for <paramref name="classes"/> classes.</summary>
    public AuxiliaryHead(int channels, int classes) : base(nameof(AuxiliaryHead))
    {
        features = nn.Sequential(
            nn.ReLU(),
            nn.AvgPool2d(5, stride: 3, padding: 0, count_include_pad: false), // 8×8 → 2×2
            nn.Conv2d(channels, 128, 1, bias: false),
            nn.BatchNorm2d(128),
            nn.ReLU(),
            nn.Conv2d(128, 768, 2, bias: false), // 2×2 → 1×1
            nn.BatchNorm2d(768),
            nn.ReLU());
        classifier = nn.Linear(768, classes);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        if (x.shape[2] != InputSide || x.shape[3] != InputSide)
            throw new ArgumentException($"The auxiliary head expects the {InputSide}×{InputSide} map a 32×32 image gives at 2/3 depth; got {x.shape[2]}×{x.shape[3]}. Feed 32×32 images (pad or resize) or turn the head off.", nameof(x));
        using var scope = NewDisposeScope();
        return classifier.call(features.call(x).flatten(1)).MoveToOuterDisposeScope();
    }
}
