using MobileNeXt.Layers;
using MobileNeXt.Search.Operations;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Search.Network;

/// <summary>
/// One edge of a search cell: every candidate operation applied to the same input and summed with the softmax weights of
/// the edge's architecture parameters (Liu et al. 2018, Eq. 1). During search the operations' BatchNorms are not affine
/// and each pooling is followed by a non-affine BatchNorm (quark0/darts <c>cnn/model_search.py</c>, <c>MixedOp</c>), so
/// pooling outputs are on the scale of the convolutions' normalised ones.
/// </summary>
public sealed class MixedOp : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly ModuleList<nn.Module<Tensor, Tensor>> _ops;

    /// <summary>All operations of <paramref name="space"/> on <paramref name="channels"/> channels at <paramref name="stride"/>.</summary>
    public MixedOp(SearchSpace space, int channels, int stride) : base(nameof(MixedOp))
    {
        ArgumentNullException.ThrowIfNull(space);
        _ops = new ModuleList<nn.Module<Tensor, Tensor>>();
        foreach (var name in space.Operations)
        {
            var op = SearchOperations.Create(name, channels, stride, affine: false);
            _ops.Add(name is Primitives.MaxPool3x3 or Primitives.AvgPool3x3 ? nn.Sequential(op, SearchOperations.Norm(channels, affine: false)) : op);
        }
        RegisterComponents();
    }

    /// <summary>Number of candidate operations.</summary>
    public int Count => _ops.Count;

    /// <summary>Σ_o w_o · o(x).</summary>
    /// <param name="x">The edge's input.</param>
    /// <param name="weights">One weight per operation (a row of softmax(α)).</param>
    public override Tensor forward(Tensor x, Tensor weights)
    {
        if (weights.shape.Length != 1 || weights.shape[0] != _ops.Count)
            throw new ArgumentException($"A mixed operation of {_ops.Count} operations needs {_ops.Count} weights; got shape [{string.Join(", ", weights.shape)}].", nameof(weights));
        using var scope = NewDisposeScope();
        Tensor? sum = null;
        for (int k = 0; k < _ops.Count; k++)
        {
            var term = _ops[k].call(x).mul(weights[k]);
            sum = sum is null ? term : sum.add_(term, KeptScalars.One); // a held alpha: see KeptScalars
        }
        return sum!.MoveToOuterDisposeScope();
    }
}
