using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Layers;

/// <summary>The conv, norm and activation layers both networks are made of, with PyTorch's defaults spelled out.</summary>
internal static class ConvLayers
{
    /// <summary>
    /// A k×k conv with "same" padding. <paramref name="groups"/> = channels makes it depthwise. Bias-free, as every conv
    /// followed by BatchNorm; a fused network's convs carry the folded BatchNorm as their bias.
    /// </summary>
    public static Conv2d Conv(long input, long output, long kernel, long stride = 1, long groups = 1, bool fused = false) =>
        nn.Conv2d(input, output, kernel, stride: stride, padding: kernel / 2, groups: groups, bias: fused);

    /// <summary>BatchNorm2d with PyTorch's eps 1e-5 and momentum 0.1 (architecture.md); in a fused network, an Identity placeholder.</summary>
    public static nn.Module<Tensor, Tensor> Norm(long channels, bool fused = false) =>
        fused ? nn.Identity() : new SafeBatchNorm2d(channels, eps: 1e-5, momentum: 0.1);

    /// <summary>ReLU6, in place as in the released code (the preceding BatchNorm's output is not needed by autograd).</summary>
    public static ReLU6 Act() => nn.ReLU6(inplace: true);

    /// <summary>
    /// The released initialisation (architecture.md, "Initialisation"; the same as torchvision's MobileNetV2):
    /// conv weights normal(0, sqrt(2 / (kh·kw·out))), i.e. Kaiming normal with fan-out; BatchNorm weight 1, bias 0;
    /// Linear normal(0, 0.01), bias 0.
    /// </summary>
    public static void InitializeWeights(nn.Module root)
    {
        using var _ = no_grad();
        foreach (var (_, module) in root.named_modules())
        {
            switch (module)
            {
                case Conv2d conv:
                    long fanOut = conv.weight!.shape[0] * conv.weight.shape[2] * conv.weight.shape[3];
                    nn.init.normal_(conv.weight, 0, Math.Sqrt(2.0 / fanOut));
                    if (conv.bias is not null) nn.init.zeros_(conv.bias);
                    break;
                case BatchNorm bn:
                    nn.init.ones_(bn.weight!);
                    nn.init.zeros_(bn.bias!);
                    break;
                case Linear linear:
                    nn.init.normal_(linear.weight!, 0, 0.01);
                    if (linear.bias is not null) nn.init.zeros_(linear.bias);
                    break;
            }
        }
    }
}
