using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Search.Operations;

/// <summary>
/// ReLU → k×k conv (no bias) → BatchNorm: DARTS's <c>ReLUConvBN</c> (quark0/darts <c>cnn/operations.py</c>), the cells'
/// 1×1 preprocessing. DARTS puts the ReLU first so every operation sees a rectified input and ends normalised (Sec. 3.1:
/// "ReLU-Conv-BN order").
/// </summary>
public sealed class ReluConvBn : nn.Module<Tensor, Tensor>
{
    private readonly Sequential op;

    /// <summary>A ReLU–conv–BN unit.</summary>
    /// <param name="input">Input channels.</param>
    /// <param name="output">Output channels.</param>
    /// <param name="kernel">Kernel size.</param>
    /// <param name="stride">Stride.</param>
    /// <param name="padding">Padding.</param>
    /// <param name="affine">Whether BatchNorm learns a scale and shift (false during search).</param>
    public ReluConvBn(int input, int output, int kernel, int stride, int padding, bool affine) : base(nameof(ReluConvBn))
    {
        op = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(input, output, kernel, stride: stride, padding: padding, bias: false),
            SearchOperations.Norm(output, affine));
        RegisterComponents();
    }

    /// <summary>The operation; on a channels-last batch its 1×1 convolution takes Core's pointwise path (<c>ConvLayers.Run</c>: the matrix product unless <see cref="MemoryLayout.PointwiseConvolutions"/> says otherwise), as Core's networks do.</summary>
    public override Tensor forward(Tensor x) => MobileNeXt.Layers.ConvLayers.Run(op, x);
}
