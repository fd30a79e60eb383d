using MobileNeXt.Layers;
using MobileNeXt.Search.Operations;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Search.Network;

/// <summary>
/// A search cell (Liu et al. 2018, Sec. 2.1; quark0/darts <c>cnn/model_search.py</c>, <c>Cell</c>): its two inputs —
/// the outputs of the previous two cells — are brought to C channels at one resolution (a 1×1 ReLU–conv–BN, or a
/// factorised reduce when the previous cell reduced), then each of its intermediate nodes sums a mixed operation on
/// every earlier state; the output concatenates the last <c>multiplier</c> nodes. In a reduction cell the edges from
/// the two inputs have stride 2.
/// </summary>
public sealed class SearchCell : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> preprocess0;
    private readonly ReluConvBn preprocess1;
    private readonly ModuleList<MixedOp> _ops;

    /// <summary>Builds a cell.</summary>
    /// <param name="space">The candidate operations of every edge.</param>
    /// <param name="steps">Intermediate nodes (4 in DARTS).</param>
    /// <param name="multiplier">How many of the last nodes the output concatenates (4 in DARTS).</param>
    /// <param name="prevPrevChannels">Channels of the cell two back.</param>
    /// <param name="prevChannels">Channels of the previous cell.</param>
    /// <param name="channels">The cell's node width C.</param>
    /// <param name="reduction">Whether this cell halves the resolution.</param>
    /// <param name="reductionPrev">Whether the previous cell did (the cell two back is then at twice the resolution).</param>
    public SearchCell(SearchSpace space, int steps, int multiplier, int prevPrevChannels, int prevChannels, int channels, bool reduction, bool reductionPrev)
        : base(nameof(SearchCell))
    {
        ArgumentNullException.ThrowIfNull(space);
        Steps = steps;
        Multiplier = multiplier;
        Reduction = reduction;
        preprocess0 = reductionPrev
            ? new FactorizedReduce(prevPrevChannels, channels, affine: false)
            : new ReluConvBn(prevPrevChannels, channels, 1, 1, 0, affine: false);
        preprocess1 = new ReluConvBn(prevChannels, channels, 1, 1, 0, affine: false);
        _ops = new ModuleList<MixedOp>();
        for (int i = 0; i < steps; i++)
            for (int j = 0; j < 2 + i; j++)
                _ops.Add(new MixedOp(space, channels, reduction && j < 2 ? 2 : 1));
        RegisterComponents();
    }

    /// <summary>Intermediate nodes.</summary>
    public int Steps { get; }

    /// <summary>Nodes concatenated into the output.</summary>
    public int Multiplier { get; }

    /// <summary>Whether the cell halves the resolution (and uses α_reduce).</summary>
    public bool Reduction { get; }

    /// <summary>Edges: 2 + 3 + … + (steps + 1), 14 for 4 steps.</summary>
    public static int EdgeCount(int steps) => steps * (steps + 3) / 2;

    /// <summary>Runs the cell on the two previous cells' outputs with one row of operation weights per edge.</summary>
    public override Tensor forward(Tensor s0, Tensor s1, Tensor weights)
    {
        using var scope = NewDisposeScope();
        var states = new List<Tensor> { preprocess0.call(s0), preprocess1.call(s1) };
        int offset = 0;
        for (int i = 0; i < Steps; i++)
        {
            Tensor? node = null;
            for (int j = 0; j < states.Count; j++)
            {
                var y = _ops[offset + j].call(states[j], weights[offset + j]);
                node = node is null ? y : node.add_(y, KeptScalars.One);
            }
            offset += states.Count;
            states.Add(node!);
        }
        return cat(states.GetRange(states.Count - Multiplier, Multiplier), 1).MoveToOuterDisposeScope();
    }
}
