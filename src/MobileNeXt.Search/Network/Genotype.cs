using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using MobileNeXt.Search.Operations;
using static TorchSharp.torch;

namespace MobileNeXt.Search.Network;

/// <summary>One kept edge of a derived cell: the operation and the state it reads (0, 1: the cell's inputs; 2 + i: node i).</summary>
/// <param name="Operation">An operation name (<see cref="Primitives"/>).</param>
/// <param name="Input">Index of the state the edge reads.</param>
public sealed record GenotypeEdge(string Operation, int Input);

/// <summary>
/// A derived architecture: for each of the normal and the reduction cell, two edges per intermediate node (node i's
/// edges are entries 2i and 2i + 1) and the states its output concatenates — DARTS's <c>Genotype</c> namedtuple
/// (quark0/darts <c>cnn/genotypes.py</c>).
/// </summary>
/// <param name="Normal">The normal cell's edges, two per node.</param>
/// <param name="NormalConcat">States the normal cell concatenates.</param>
/// <param name="Reduce">The reduction cell's edges, two per node.</param>
/// <param name="ReduceConcat">States the reduction cell concatenates.</param>
public sealed record Genotype(
    IReadOnlyList<GenotypeEdge> Normal,
    IReadOnlyList<int> NormalConcat,
    IReadOnlyList<GenotypeEdge> Reduce,
    IReadOnlyList<int> ReduceConcat)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>
    /// DARTS's published second-order CIFAR-10 cell, <c>DARTS_V2</c> (quark0/darts <c>cnn/genotypes.py</c>; Liu et al.
    /// 2018 Fig. 4–5): the reference cell of the evaluation network's tests and of <c>train --genotype</c> examples.
    /// </summary>
    public static Genotype DartsV2 { get; } = new(
        [new(Primitives.SepConv3x3, 0), new(Primitives.SepConv3x3, 1), new(Primitives.SepConv3x3, 0), new(Primitives.SepConv3x3, 1),
         new(Primitives.SepConv3x3, 1), new(Primitives.SkipConnect, 0), new(Primitives.SkipConnect, 0), new(Primitives.DilConv3x3, 2)],
        [2, 3, 4, 5],
        [new(Primitives.MaxPool3x3, 0), new(Primitives.MaxPool3x3, 1), new(Primitives.SkipConnect, 2), new(Primitives.MaxPool3x3, 1),
         new(Primitives.MaxPool3x3, 0), new(Primitives.SkipConnect, 2), new(Primitives.SkipConnect, 2), new(Primitives.MaxPool3x3, 1)],
        [2, 3, 4, 5]);

    /// <summary>Derives the genotype from a search network's current α (softmax over operations, then <see cref="Derive(float[,], float[,], SearchSpace, int, int)"/>).</summary>
    public static Genotype Derive(SearchNetwork network)
    {
        ArgumentNullException.ThrowIfNull(network);
        using var _ = no_grad();
        using var normal = nn.functional.softmax(network.AlphasNormal, -1).cpu().to(ScalarType.Float32);
        using var reduce = nn.functional.softmax(network.AlphasReduce, -1).cpu().to(ScalarType.Float32);
        var o = network.Options;
        return Derive(ToArray(normal), ToArray(reduce), o.Space, o.Steps, o.Multiplier);
    }

    /// <summary>
    /// DARTS's discretisation (Liu et al. 2018, Sec. 2.4; <c>model_search.py</c>, <c>genotype()</c>): for every
    /// intermediate node keep the two incoming edges whose strongest non-<c>none</c> weight is largest, and on each the
    /// strongest non-<c>none</c> operation. Ties go to the earlier edge and the earlier operation, as DARTS's stable
    /// sort and strict comparison do.
    /// </summary>
    /// <param name="normalWeights">softmax(α_normal): edges × operations.</param>
    /// <param name="reduceWeights">softmax(α_reduce): edges × operations.</param>
    /// <param name="space">The operations, in the columns' order.</param>
    /// <param name="steps">Intermediate nodes.</param>
    /// <param name="multiplier">How many of the last states the cell concatenates.</param>
    /// <exception cref="ArgumentException">The weights' shape does not fit the space and steps.</exception>
    public static Genotype Derive(float[,] normalWeights, float[,] reduceWeights, SearchSpace space, int steps = 4, int multiplier = 4)
    {
        ArgumentNullException.ThrowIfNull(space);
        space.Validate();
        var concat = Enumerable.Range(2 + steps - multiplier, multiplier).ToList();
        return new Genotype(Parse(normalWeights, space, steps), concat, Parse(reduceWeights, space, steps), concat);
    }

    private static List<GenotypeEdge> Parse(float[,] w, SearchSpace space, int steps)
    {
        int edges = SearchCell.EdgeCount(steps), ops = space.Operations.Count, none = space.NoneIndex;
        if (w.GetLength(0) != edges || w.GetLength(1) != ops)
            throw new ArgumentException($"Weights of a {steps}-node cell over '{space.Name}' must be {edges}×{ops}; got {w.GetLength(0)}×{w.GetLength(1)}.");
        var gene = new List<GenotypeEdge>();
        int start = 0;
        for (int i = 0; i < steps; i++)
        {
            int inputs = 2 + i;
            int Best(int row)
            {
                int best = -1;
                for (int k = 0; k < ops; k++)
                    if (k != none && (best < 0 || w[row, k] > w[row, best])) best = k;
                return best;
            }
            var kept = Enumerable.Range(0, inputs).OrderByDescending(j => w[start + j, Best(start + j)]).Take(2);
            foreach (int j in kept) gene.Add(new GenotypeEdge(space.Operations[Best(start + j)], j));
            start += inputs;
        }
        return gene;
    }

    private static float[,] ToArray(Tensor t)
    {
        var data = t.data<float>().ToArray();
        int rows = (int)t.shape[0], cols = (int)t.shape[1];
        var a = new float[rows, cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) a[r, c] = data[r * cols + c];
        return a;
    }

    /// <summary>The genotype as JSON (<c>normal</c>, <c>normal_concat</c>, <c>reduce</c>, <c>reduce_concat</c>, DARTS's field names).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads a genotype written by <see cref="ToJson"/>.</summary>
    /// <exception cref="InvalidDataException">The text is not such a genotype.</exception>
    public static Genotype FromJson(string json)
    {
        Genotype? g;
        try { g = JsonSerializer.Deserialize<Genotype>(json, Json); }
        catch (JsonException e) { throw new InvalidDataException($"Not a genotype: {e.Message}", e); }
        if (g?.Normal is null || g.Reduce is null || g.NormalConcat is null || g.ReduceConcat is null)
            throw new InvalidDataException("Not a genotype: it needs 'normal', 'normal_concat', 'reduce' and 'reduce_concat'.");
        return g;
    }

    /// <summary>Writes <see cref="ToJson"/> to <paramref name="path"/> atomically (a reader never sees half a file).</summary>
    public void Save(string path) => MobileNeXt.Interop.AtomicFile.Write(path, stream => stream.Write(System.Text.Encoding.UTF8.GetBytes(ToJson())));

    /// <summary>Reads a genotype file written by <see cref="Save"/>.</summary>
    public static Genotype Load(string path) => FromJson(File.ReadAllText(path));

    /// <summary>DARTS's printed form, e.g. <c>Genotype(normal=[('sep_conv_3x3', 0), …], normal_concat=[2, 3, 4, 5], …)</c>.</summary>
    public override string ToString()
    {
        static string Edges(IEnumerable<GenotypeEdge> e) => "[" + string.Join(", ", e.Select(x => $"('{x.Operation}', {x.Input.ToString(CultureInfo.InvariantCulture)})")) + "]";
        static string Ints(IEnumerable<int> v) => "[" + string.Join(", ", v) + "]";
        return $"Genotype(normal={Edges(Normal)}, normal_concat={Ints(NormalConcat)}, reduce={Edges(Reduce)}, reduce_concat={Ints(ReduceConcat)})";
    }

    /// <summary>Value equality over the edges and concatenations (records compare lists by reference).</summary>
    public bool SameAs(Genotype other) =>
        other is not null && Normal.SequenceEqual(other.Normal) && Reduce.SequenceEqual(other.Reduce)
        && NormalConcat.SequenceEqual(other.NormalConcat) && ReduceConcat.SequenceEqual(other.ReduceConcat);
}
