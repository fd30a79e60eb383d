using MobileNeXt.Search.Operations;

namespace MobileNeXt.Search.Network;

/// <summary>
/// The shape of the evaluation network. Defaults are DARTS's CIFAR-10 evaluation network (Liu et al. 2018, Sec. 3.3: "a
/// large network of 20 cells … 36 initial channels … auxiliary towers"; quark0/darts <c>cnn/train.py</c>
/// <c>--init_channels 36 --layers 20 --auxiliary</c>; <c>model.py</c> <c>stem_multiplier = 3</c>).
/// </summary>
public sealed record EvalNetworkOptions
{
    /// <summary>The searched cells.</summary>
    public required Genotype Genotype { get; init; }

    /// <summary>Initial node width C (doubled at each reduction cell). Default 36.</summary>
    public int Channels { get; init; } = 36;

    /// <summary>Cells; the ones at ⌊L/3⌋ and ⌊2L/3⌋ are reduction cells. Default 20.</summary>
    public int Layers { get; init; } = 20;

    /// <summary>Whether the auxiliary head reads the cell at ⌊2L/3⌋ (training only). Default true.</summary>
    public bool Auxiliary { get; init; } = true;

    /// <summary>The stem's width as a multiple of C. Default 3.</summary>
    public int StemMultiplier { get; init; } = 3;

    /// <summary>Image channels. Default 3 (CIFAR-10; Fashion-MNIST's grey is replicated by the loader).</summary>
    public int InputChannels { get; init; } = 3;

    /// <summary>Classes. Default 10.</summary>
    public int Classes { get; init; } = 10;

    /// <summary>Whether cell <paramref name="index"/> is a reduction cell (at 1/3 and 2/3 of the depth, as <c>model.py</c>).</summary>
    public bool IsReduction(int index) => index == Layers / 3 || index == 2 * Layers / 3;

    /// <summary>The cell after which the auxiliary head reads: ⌊2L/3⌋, the second reduction cell.</summary>
    public int AuxiliaryCell => 2 * Layers / 3;

    /// <summary>Checks every value; the message says what to change.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Genotype, nameof(Genotype));
        ValidateCell(Genotype.Normal, Genotype.NormalConcat, "normal");
        ValidateCell(Genotype.Reduce, Genotype.ReduceConcat, "reduce");
        if (Channels < 2 || Channels % 2 != 0) throw new ArgumentException($"Channels must be even and at least 2 (factorised reduces halve it; DARTS: 36); got {Channels}.");
        if (Layers < 3) throw new ArgumentException($"Layers must be at least 3 so both reduction cells exist (DARTS: 20); got {Layers}.");
        if (StemMultiplier < 1) throw new ArgumentException($"StemMultiplier must be at least 1 (DARTS: 3); got {StemMultiplier}.");
        if (InputChannels < 1) throw new ArgumentException($"InputChannels must be at least 1; got {InputChannels}.");
        if (Classes < 2) throw new ArgumentException($"Classes must be at least 2; got {Classes}.");
    }

    private static void ValidateCell(IReadOnlyList<GenotypeEdge> edges, IReadOnlyList<int> concat, string cell)
    {
        if (edges is null || edges.Count == 0 || edges.Count % 2 != 0)
            throw new ArgumentException($"The genotype's {cell} cell needs two edges per node; got {edges?.Count ?? 0} edges.");
        int states = 2 + edges.Count / 2;
        for (int k = 0; k < edges.Count; k++)
        {
            if (!SearchOperations.Known.Contains(edges[k].Operation) || edges[k].Operation == Primitives.None)
                throw new ArgumentException($"The genotype's {cell} cell has operation '{edges[k].Operation}' on edge {k}; use one of {string.Join(", ", SearchOperations.Known.Where(o => o != Primitives.None))}.");
            if (edges[k].Input < 0 || edges[k].Input >= 2 + k / 2)
                throw new ArgumentException($"The genotype's {cell} cell: edge {k} of node {k / 2} reads state {edges[k].Input}; a node reads only the inputs and earlier nodes.");
        }
        if (concat is null || concat.Count == 0 || concat.Any(i => i < 0 || i >= states))
            throw new ArgumentException($"The genotype's {cell}_concat must name states 0 … {states - 1}; got [{string.Join(", ", concat ?? [])}].");
    }
}
