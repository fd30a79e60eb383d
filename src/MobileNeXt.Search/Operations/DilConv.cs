using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Search.Operations;

/// <summary>
/// ReLU → k×k depthwise conv (stride, dilation) → 1×1 conv → BatchNorm, no biases: DARTS's <c>DilConv</c> (quark0/darts
/// <c>cnn/operations.py</c>). With dilation 1 it is half of a separable conv (<see cref="SearchOperations"/> stacks two).
/// </summary>
public sealed class DilConv : nn.Module<Tensor, Tensor>
{
    private readonly Sequential op;

    /// <summary>A ReLU–dw–pw–BN unit.</summary>
    /// <param name="input">Input channels.</param>
    /// <param name="output">Output channels.</param>
    /// <param name="kernel">Depthwise kernel size.</param>
    /// <param name="stride">Stride of the depthwise conv.</param>
    /// <param name="padding">Padding of the depthwise conv (dilation · (k − 1) / 2 keeps the size).</param>
    /// <param name="dilation">Dilation of the depthwise conv.</param>
    /// <param name="affine">Whether BatchNorm learns a scale and shift (false during search).</param>
    public DilConv(int input, int output, int kernel, int stride, int padding, int dilation, bool affine) : base(nameof(DilConv))
    {
        op = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(input, input, kernel, stride: stride, padding: padding, dilation: dilation, groups: input, bias: false), // dw
            nn.Conv2d(input, output, 1, bias: false), // pw
            SearchOperations.Norm(output, affine));
        RegisterComponents();
    }

    /// <summary>The operation; on a channels-last batch its 1×1 convolution takes Core's pointwise path (<c>ConvLayers.Run</c>: the matrix product unless <see cref="MemoryLayout.PointwiseConvolutions"/> says otherwise), as Core's networks do.</summary>
    public override Tensor forward(Tensor x) => MobileNeXt.Layers.ConvLayers.Run(op, x);
}
