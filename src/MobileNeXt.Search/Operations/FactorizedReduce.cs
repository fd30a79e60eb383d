using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Search.Operations;

/// <summary>
/// Halves the resolution without losing every other pixel: ReLU, then two 1×1 stride-2 convs, one on the input and one
/// on the input shifted by one pixel, each giving half the output channels, concatenated and batch-normalised (DARTS's
/// <c>FactorizedReduce</c>, quark0/darts <c>cnn/operations.py</c>): the skip connection on a stride-2 edge and the
/// preprocessing of a cell whose previous-but-one input is at twice its resolution.
/// </summary>
public sealed class FactorizedReduce : nn.Module<Tensor, Tensor>
{
    private readonly ReLU relu;
    private readonly Conv2d conv_1;
    private readonly Conv2d conv_2;
    private readonly nn.Module<Tensor, Tensor> bn;

    /// <summary>A factorised reduce from <paramref name="input"/> to <paramref name="output"/> channels.</summary>
    /// <exception cref="ArgumentException"><paramref name="output"/> is odd (each conv gives half).</exception>
    public FactorizedReduce(int input, int output, bool affine) : base(nameof(FactorizedReduce))
    {
        if (output % 2 != 0) throw new ArgumentException($"A factorised reduce splits its {output} output channels between two convs; use an even number.", nameof(output));
        relu = nn.ReLU();
        conv_1 = nn.Conv2d(input, output / 2, 1, stride: 2, bias: false);
        conv_2 = nn.Conv2d(input, output / 2, 1, stride: 2, bias: false); // on the input shifted by one row and column
        bn = SearchOperations.Norm(output, affine);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        if (x.shape[2] % 2 != 0 || x.shape[3] % 2 != 0)
            throw new ArgumentException($"A factorised reduce needs an even height and width; got {x.shape[2]}×{x.shape[3]}. Choose an input size that stays even down to the last reduction cell.");
        using var scope = NewDisposeScope();
        var r = relu.call(x);
        var shifted = r.slice(2, 1, r.shape[2], 1).slice(3, 1, r.shape[3], 1);
        var both = cat([conv_1.call(r), conv_2.call(shifted)], 1);
        return bn.call(both).MoveToOuterDisposeScope();
    }
}
