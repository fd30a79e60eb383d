using MobileNeXt.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Detection;

/// <summary>
/// A head of levels 0–4: dw 3×3 (with bias) + BN + ReLU6 → 1×1 conv (with bias), keys <c>conv.0</c>, <c>conv.1</c>,
/// <c>conv.3</c> (the released code's <c>SeparableConv2d</c>, ssd/layers/separable_conv.py).
/// </summary>
internal sealed class SeparableHead : nn.Module<Tensor, Tensor>
{
    private readonly Sequential conv;

    public SeparableHead(int input, int output, bool fused) : base(nameof(SeparableHead))
    {
        conv = nn.Sequential(
            nn.Conv2d(input, input, 3, stride: 1, padding: 1, groups: input, bias: true), // dw
            ConvLayers.Norm(input, fused),
            ConvLayers.Act(),
            nn.Conv2d(input, output, 1, bias: true)); // pw, linear
        RegisterComponents();
    }

    /// <summary>dw, BN, ReLU6, pw, as the released code names them (<c>conv.0</c> … <c>conv.3</c>).</summary>
    public Sequential Layers => conv;

    public override Tensor forward(Tensor x) => ConvLayers.Run(conv, x);
}
