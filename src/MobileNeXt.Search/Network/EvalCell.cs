using MobileNeXt.Layers;
using MobileNeXt.Search.Operations;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Search.Network;

/// <summary>
/// A cell of the evaluation network built from a genotype (DARTS's <c>Cell</c>, quark0/darts <c>cnn/model.py</c>): the
/// two inputs are brought to C channels (a 1×1 ReLU–conv–BN, or a factorised reduce after a reduction cell), each
/// intermediate node sums its two kept operations (affine BatchNorms; stride 2 on a reduction cell's edges from its
/// inputs), and the output concatenates the genotype's <c>concat</c> states. In training, every operation that is not the
/// identity has its output dropped per sample with the network's drop-path probability.
/// </summary>
public sealed class EvalCell : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> preprocess0;
    private readonly ReluConvBn preprocess1;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> _ops;
    private readonly int[] _inputs;
    private readonly bool[] _isIdentity;
    private readonly int[] _concat;

    /// <summary>Builds the normal or reduction cell of <paramref name="genotype"/>.</summary>
    /// <param name="genotype">The derived architecture.</param>
    /// <param name="prevPrevChannels">Channels of the cell two back.</param>
    /// <param name="prevChannels">Channels of the previous cell.</param>
    /// <param name="channels">The node width C.</param>
    /// <param name="reduction">Whether this cell halves the resolution (and uses the genotype's reduction cell).</param>
    /// <param name="reductionPrev">Whether the previous cell did.</param>
    public EvalCell(Genotype genotype, int prevPrevChannels, int prevChannels, int channels, bool reduction, bool reductionPrev)
        : base(nameof(EvalCell))
    {
        ArgumentNullException.ThrowIfNull(genotype);
        var edges = reduction ? genotype.Reduce : genotype.Normal;
        Reduction = reduction;
        preprocess0 = reductionPrev
            ? new FactorizedReduce(prevPrevChannels, channels, affine: true)
            : new ReluConvBn(prevPrevChannels, channels, 1, 1, 0, affine: true);
        preprocess1 = new ReluConvBn(prevChannels, channels, 1, 1, 0, affine: true);
        _ops = new ModuleList<nn.Module<Tensor, Tensor>>();
        foreach (var edge in edges)
            _ops.Add(SearchOperations.Create(edge.Operation, channels, reduction && edge.Input < 2 ? 2 : 1, affine: true));
        _inputs = [.. edges.Select(e => e.Input)];
        _isIdentity = [.. _ops.Select(o => o is Identity)];
        _concat = [.. reduction ? genotype.ReduceConcat : genotype.NormalConcat];
        RegisterComponents();
    }

    /// <summary>Whether the cell halves the resolution.</summary>
    public bool Reduction { get; }

    /// <summary>Output channels: C times the number of concatenated states.</summary>
    public int OutputChannels(int channels) => channels * _concat.Length;

    /// <summary>Drop-path probability applied in training to every non-identity operation (set per epoch by the network).</summary>
    public double DropPathProbability { get; set; }

    /// <inheritdoc />
    public override Tensor forward(Tensor s0, Tensor s1)
    {
        using var scope = NewDisposeScope();
        var states = new List<Tensor> { preprocess0.call(s0), preprocess1.call(s1) };
        bool drop = training && DropPathProbability > 0;
        for (int node = 0; node < _ops.Count / 2; node++)
        {
            Tensor sum = null!;
            for (int k = 2 * node; k < 2 * node + 2; k++)
            {
                var h = _ops[k].call(states[_inputs[k]]);
                if (drop && !_isIdentity[k]) h = DropPath.Apply(h, DropPathProbability);
                sum = k == 2 * node ? h : sum.add(h, KeptScalars.One);
            }
            states.Add(sum);
        }
        return cat(_concat.Select(i => states[i]).ToList(), 1).MoveToOuterDisposeScope();
    }
}
