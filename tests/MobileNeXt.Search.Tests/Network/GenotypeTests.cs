using MobileNeXt.Search.Network;
using MobileNeXt.Search.Operations;
using static TorchSharp.torch;

namespace MobileNeXt.Search.Tests.Network;

public class GenotypeTests
{
    private static int Col(string op) => Primitives.Darts.ToList().IndexOf(op);

    /// <summary>
    /// Hand-set α for the normal cell (zeros except where set). Node i reads rows start..start+1+i. The strength of an edge is
    /// its largest softmax weight other than none; e.g. a row with one entry v (others 0) has strength e^v / (e^v + 7).
    /// </summary>
    private static float[,] HandSetNormalAlpha()
    {
        var a = new float[14, 8];
        // node 0 (rows 0–1): sep3 = 2 → 0.513; skip = 1 → 0.280
        a[0, Col("sep_conv_3x3")] = 2; a[1, Col("skip_connect")] = 1;
        // node 1 (rows 2–4): none 5 with sep5 1 → sep5's weight e/(e^5+e+6) = 0.017 (none ignored, so weakest);
        // dil3 = 1 → 0.280; max pool = 3 → 0.742
        a[2, Col("none")] = 5; a[2, Col("sep_conv_5x5")] = 1; a[3, Col("dil_conv_3x3")] = 1; a[4, Col("max_pool_3x3")] = 3;
        // node 2 (rows 5–8): avg 1.5 → 0.390; all zero → 0.125; dil5 2 → 0.513; sep3 = sep5 = 1 → 0.238
        a[5, Col("avg_pool_3x3")] = 1.5f; a[7, Col("dil_conv_5x5")] = 2; a[8, Col("sep_conv_3x3")] = 1; a[8, Col("sep_conv_5x5")] = 1;
        // node 3 (rows 9–13): none 10 → 2e-5; zero → 0.125; skip 0.5 → 0.191; zero; sep5 = none = 4 → 0.474
        a[9, Col("none")] = 10; a[11, Col("skip_connect")] = 0.5f; a[13, Col("sep_conv_5x5")] = 4; a[13, Col("none")] = 4;
        return a;
    }

    private static readonly GenotypeEdge[] ExpectedNormal =
    [
        new("sep_conv_3x3", 0), new("skip_connect", 1),
        new("max_pool_3x3", 2), new("dil_conv_3x3", 1),
        new("dil_conv_5x5", 2), new("avg_pool_3x3", 0),
        new("sep_conv_5x5", 4), new("skip_connect", 2),
    ];

    // All-zero α: every weight 1/8; ties go to the earlier edges (0 and 1) and the first non-none operation.
    private static readonly GenotypeEdge[] ExpectedReduce = Enumerable.Repeat(new GenotypeEdge("max_pool_3x3", 0), 4)
        .SelectMany(e => new[] { e, e with { Input = 1 } }).ToArray();

    private static SearchNetwork WithHandSetAlpha()
    {
        var net = new SearchNetwork(new SearchNetworkOptions { Channels = 2, Layers = 1 });
        var a = HandSetNormalAlpha();
        using var _ = no_grad();
        net.AlphasNormal.copy_(tensor(a.Cast<float>().ToArray()).reshape(14, 8));
        net.AlphasReduce.zero_();
        return net;
    }

    [Fact]
    public void Should_keep_the_two_strongest_non_none_edges_of_each_node_with_their_strongest_non_none_operation()
    {
        using var net = WithHandSetAlpha();
        var g = Genotype.Derive(net);
        g.Normal.Should().Equal(ExpectedNormal);
        g.Reduce.Should().Equal(ExpectedReduce);
        g.NormalConcat.Should().Equal(2, 3, 4, 5);
        g.ReduceConcat.Should().Equal(2, 3, 4, 5);
    }

    [Fact]
    public void Should_print_as_DARTS_does_and_round_trip_through_a_JSON_file()
    {
        using var net = WithHandSetAlpha();
        var g = Genotype.Derive(net);
        g.ToString().Should().StartWith("Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1), ('max_pool_3x3', 2)")
            .And.Contain("normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)");
        var path = Path.Combine(Path.GetTempPath(), $"genotype-{Guid.NewGuid():N}.json");
        try
        {
            g.Save(path);
            File.ReadAllText(path).Should().Contain("\"normal_concat\"").And.Contain("\"operation\": \"dil_conv_5x5\"");
            Genotype.Load(path).SameAs(g).Should().BeTrue();
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Should_refuse_weights_of_the_wrong_shape()
    {
        var act = () => Genotype.Derive(new float[14, 9], new float[14, 8], SearchSpace.Darts);
        act.Should().Throw<ArgumentException>().WithMessage("*14×8*14×9*");
    }

    [Fact]
    public void Should_refuse_text_that_is_not_a_genotype()
    {
        var act = () => Genotype.FromJson("{\"normal\": 3}");
        act.Should().Throw<InvalidDataException>().WithMessage("Not a genotype*");
    }
}
