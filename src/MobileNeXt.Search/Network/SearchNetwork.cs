using MobileNeXt.Search.Operations;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Search.Network;

/// <summary>
/// DARTS's weight-sharing search network (quark0/darts <c>cnn/model_search.py</c>, <c>Network</c>): a 3×3 conv–BN stem,
/// a stack of search cells sharing two sets of architecture parameters — α_normal for normal cells and α_reduce for
/// reduction cells, each (edges × operations), initialised to 10⁻³·N(0, 1) — then global average pooling and a linear
/// classifier. Each cell weights its edges' operations with softmax(α) over the operations.
/// </summary>
/// <remarks>
/// α is registered (<c>alphas_normal</c>, <c>alphas_reduce</c>), so it is saved with the weights; the two optimisers
/// take <see cref="WeightParameters"/> and <see cref="ArchitectureParameters"/>, never <c>parameters()</c>.
/// </remarks>
public sealed class SearchNetwork : nn.Module<Tensor, Tensor>
{
    private readonly Sequential stem;
    private readonly ModuleList<SearchCell> cells;
    private readonly AdaptiveAvgPool2d global_pooling;
    private readonly Linear classifier;
    private readonly Parameter alphas_normal;
    private readonly Parameter alphas_reduce;

    /// <summary>Builds the network <paramref name="options"/> describes (default: DARTS's 8 cells of 16 channels).</summary>
    /// <exception cref="ArgumentException">An option is out of range; the message says which.</exception>
    public SearchNetwork(SearchNetworkOptions? options = null) : base(nameof(SearchNetwork))
    {
        Options = options ?? new SearchNetworkOptions();
        Options.Validate();
        var o = Options;
        int current = o.StemMultiplier * o.Channels;
        stem = nn.Sequential(nn.Conv2d(o.InputChannels, current, 3, padding: 1, bias: false), nn.BatchNorm2d(current));
        int prevPrev = current, prev = current;
        current = o.Channels;
        bool reductionPrev = false;
        cells = new ModuleList<SearchCell>();
        for (int i = 0; i < o.Layers; i++)
        {
            bool reduction = o.IsReduction(i);
            if (reduction) current *= 2;
            cells.Add(new SearchCell(o.Space, o.Steps, o.Multiplier, prevPrev, prev, current, reduction, reductionPrev));
            reductionPrev = reduction;
            (prevPrev, prev) = (prev, o.Multiplier * current);
        }
        global_pooling = nn.AdaptiveAvgPool2d(1);
        classifier = nn.Linear(prev, o.Classes);
        int edges = SearchCell.EdgeCount(o.Steps), ops = o.Space.Operations.Count;
        alphas_normal = new Parameter(randn(edges, ops).mul_(1e-3));
        alphas_reduce = new Parameter(randn(edges, ops).mul_(1e-3));
        RegisterComponents();
    }

    /// <summary>The shape the network was built with.</summary>
    public SearchNetworkOptions Options { get; }

    /// <summary>α of the normal cells (edges × operations).</summary>
    public Parameter AlphasNormal => alphas_normal;

    /// <summary>α of the reduction cells (edges × operations).</summary>
    public Parameter AlphasReduce => alphas_reduce;

    /// <summary>The architecture parameters α, in the order (normal, reduce).</summary>
    public IReadOnlyList<Parameter> ArchitectureParameters() => [alphas_normal, alphas_reduce];

    /// <summary>Every parameter except α: what the weight optimiser trains.</summary>
    public IReadOnlyList<Parameter> WeightParameters() =>
        parameters().Where(p => !ReferenceEquals(p, alphas_normal) && !ReferenceEquals(p, alphas_reduce)).ToList();

    /// <summary>The cells, in order.</summary>
    public IReadOnlyList<SearchCell> Cells => cells.ToList();

    /// <summary>Logits for a batch of images.</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var normal = nn.functional.softmax(alphas_normal, -1);
        var reduce = nn.functional.softmax(alphas_reduce, -1);
        var s0 = stem.call(x);
        var s1 = s0;
        foreach (var cell in cells)
            (s0, s1) = (s1, cell.call(s0, s1, cell.Reduction ? reduce : normal));
        var pooled = global_pooling.call(s1).flatten(1);
        return classifier.call(pooled).MoveToOuterDisposeScope();
    }
}
