using MobileNeXt.Search.Network;
using MobileNeXt.Search.Operations;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Search.Tests.Network;

public class SearchNetworkTests
{
    /// <summary>
    /// Weights of one stride-1 mixed edge of DARTS's space on c channels with affine-free BN: two 3×3 separable units
    /// 2(9c + c²), two 5×5 ones 2(25c + c²), dil 3×3 9c + c², dil 5×5 25c + c²; pools, skip and none have none.
    /// A stride-2 edge adds the skip's factorised reduce, 2·c·c/2 = c².
    /// </summary>
    private static long Edge(long c) => 2 * (9 * c + c * c) + 2 * (25 * c + c * c) + (9 * c + c * c) + (25 * c + c * c);

    [Fact]
    public void Should_hold_14_mixed_edges_and_concatenate_4_nodes_at_half_resolution_in_a_reduction_cell()
    {
        const int c = 4;
        using var cell = new SearchCell(SearchSpace.Darts, steps: 4, multiplier: 4, prevPrevChannels: 6, prevChannels: 10, channels: c, reduction: true, reductionPrev: false);
        SearchCell.EdgeCount(4).Should().Be(2 + 3 + 4 + 5);
        // preprocess: 1×1 convs 6→c and 10→c; 14 edges, of which the 8 from the two inputs have stride 2
        cell.parameters().Sum(p => p.numel()).Should().Be(6 * c + 10 * c + 14 * Edge(c) + 8 * c * c);
        using var s0 = randn(2, 6, 8, 8);
        using var s1 = randn(2, 10, 8, 8);
        using var w = ones(14, 8).div_(8);
        using var y = cell.call(s0, s1, w);
        y.shape.Should().Equal(2, 4 * c, 4, 4);
    }

    [Fact]
    public void Should_build_DARTS_layout_with_reductions_at_a_third_and_two_thirds()
    {
        using var net = new SearchNetwork();
        net.Cells.Select(cell => cell.Reduction).Should().Equal(false, false, true, false, false, true, false, false);
        net.AlphasNormal.shape.Should().Equal(14, 8);
        net.AlphasReduce.shape.Should().Equal(14, 8);
        net.AlphasNormal.abs().max().item<float>().Should().BeLessThan(1e-2f); // 1e-3·N(0,1)
    }

    [Fact]
    public void Should_have_the_weight_count_DARTS_logs_for_its_search_network()
    {
        // train_search.py logs count_parameters_in_MB(model) for 8 cells, 16 channels, 10 classes (α are not module
        // parameters there); a recorded run of it reads "param size = 1.930618MB".
        using var net = new SearchNetwork();
        net.WeightParameters().Sum(p => p.numel()).Should().Be(1_930_618);
    }

    [Fact]
    public void Should_count_weights_by_the_closed_form_and_keep_alpha_out_of_them()
    {
        const int c = 4; // 3 cells: normal at C, reduction at 2C, reduction at 4C
        using var net = new SearchNetwork(new SearchNetworkOptions { Channels = c, Layers = 3 });
        long stem = 3 * 3 * c * 9 + 2 * 3 * c;                                        // conv 3→3C, affine BN
        long cell0 = (3 * c + 3 * c) * c + 14 * Edge(c);                                // both inputs are the stem (3C)
        long cell1 = (3 * c + 4 * c) * (2 * c) + 14 * Edge(2 * c) + 8 * 4 * c * c;      // inputs 3C, 4C
        long cell2 = (4 * c + 8 * c) * (4 * c) + 14 * Edge(4 * c) + 8 * 16 * c * c;     // factorised reduce of 4C, 1×1 of 8C
        long head = 16 * c * 10 + 10;
        net.WeightParameters().Sum(p => p.numel()).Should().Be(stem + cell0 + cell1 + cell2 + head);
        net.parameters().Sum(p => p.numel()).Should().Be(stem + cell0 + cell1 + cell2 + head + 2 * 14 * 8);
        net.ArchitectureParameters().Should().HaveCount(2);
    }

    [Fact]
    public void Should_give_logits_whose_loss_reaches_alpha()
    {
        using var net = new SearchNetwork(new SearchNetworkOptions { Channels = 4, Layers = 3, Space = SearchSpace.DartsSandglass });
        net.AlphasNormal.shape.Should().Equal(14, 9);
        using var x = randn(2, 3, 8, 8);
        using var logits = net.call(x);
        logits.shape.Should().Equal(2, 10);
        using var loss = nn.functional.cross_entropy(logits, tensor(new long[] { 1, 7 }));
        loss.backward();
        foreach (var alpha in net.ArchitectureParameters())
            alpha.grad!.abs().sum().item<float>().Should().BeGreaterThan(0f);
    }

    [Fact]
    public void Should_weight_each_operation_of_an_edge_by_its_weight()
    {
        using var edge = new MixedOp(SearchSpace.Darts, 4, 1);
        using var x = randn(2, 4, 6, 6);
        var w = new float[8];
        w[Primitives.Darts.ToList().IndexOf(Primitives.None)] = 0.75f;
        w[Primitives.Darts.ToList().IndexOf(Primitives.SkipConnect)] = 0.25f;
        using var weights = tensor(w);
        using var y = edge.call(x, weights);
        using var expected = x * 0.25f; // 0.75·0 + 0.25·x
        y.allclose(expected, rtol: 0, atol: 1e-6).Should().BeTrue();
    }

    [Fact]
    public void Should_refuse_an_odd_channel_count()
    {
        var act = () => new SearchNetwork(new SearchNetworkOptions { Channels = 5 });
        act.Should().Throw<ArgumentException>().WithMessage("*even*5*");
    }
}
