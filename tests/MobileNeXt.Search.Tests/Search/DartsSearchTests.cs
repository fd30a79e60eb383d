using MobileNeXt.Inference;
using MobileNeXt.Search.Network;
using MobileNeXt.Search.Operations;
using MobileNeXt.Search.Search;
using MobileNeXt.Training.Data;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Search.Tests.Search;

public class DartsSearchTests
{
    [Fact]
    public void Should_default_to_DARTS_search_hyper_parameters()
    {
        // Liu et al. 2018 Sec. 3.1.1 and train_search.py's defaults
        var o = DartsSearchOptions.Darts;
        (o.Network.Layers, o.Network.Channels, o.Epochs, o.BatchSize, o.TrainPortion).Should().Be((8, 16, 50, 64, 0.5));
        (o.LearningRate, o.LearningRateMin, o.Momentum, o.WeightDecay, o.GradientClip).Should().Be((0.025, 0.001, 0.9, 3e-4, 5.0));
        (o.ArchLearningRate, o.ArchBeta1, o.ArchBeta2, o.ArchWeightDecay).Should().Be((3e-4, 0.5, 0.999, 1e-3));
        o.Order.Should().Be(SearchOrder.First);
    }

    [Fact]
    public void Should_anneal_the_learning_rate_by_cosine_from_0_025_to_0_001()
    {
        var o = DartsSearchOptions.Darts;
        o.LearningRateAt(0).Should().BeApproximately(0.025, 1e-12);
        o.LearningRateAt(25).Should().BeApproximately((0.025 + 0.001) / 2, 1e-12); // cos(π/2) = 0
        o.LearningRateAt(50).Should().BeApproximately(0.001, 1e-12);
    }

    [Fact]
    public void Should_step_SGD_by_PyTorch_formula_and_keep_the_momentum_buffer()
    {
        using var p = new Parameter(tensor(new[] { 1.0f }));
        using var sgd = new MomentumSgd([p], momentum: 0.9, weightDecay: 0.1);
        p.grad = tensor(new[] { 0.5f });
        sgd.Step(0.1); // d = 0.5 + 0.1·1 = 0.6, b = 0.6, w = 1 − 0.06
        p.item<float>().Should().BeApproximately(0.94f, 1e-6f);
        sgd.Step(0.1); // d = 0.5 + 0.094 = 0.594, b = 0.9·0.6 + 0.594 = 1.134, w = 0.94 − 0.1134
        sgd.Buffer(0)!.item<float>().Should().BeApproximately(1.134f, 1e-6f);
        p.item<float>().Should().BeApproximately(0.8266f, 1e-6f);
    }

    [Fact]
    public void Should_split_the_training_set_in_file_order_halves()
    {
        var set = new SyntheticShapesDataset(new SyntheticShapesOptions { Count = 11 });
        var (weights, architecture) = SearchData.Split(set);
        weights.Count.Should().Be(5); // ⌊0.5 · 11⌋
        architecture.Count.Should().Be(6);
        architecture.GetLabel(0).Should().Be(set.GetLabel(5));
    }

    [Theory]
    [InlineData(SearchOrder.First, "darts+sandglass")]
    [InlineData(SearchOrder.Second, "darts")]
    public void Should_search_two_epochs_of_a_few_steps_end_to_end(SearchOrder order, string space)
    {
        manual_seed(2);
        // generated 16×16 images of 10 classes (Training's synthetic shapes), so the test needs no download
        var shapes = new SyntheticShapesDataset(new SyntheticShapesOptions { Count = 48, ImageSize = 16 });
        var (weightHalf, archHalf) = SearchData.Split(shapes);
        var options = new DartsSearchOptions
        {
            Network = new SearchNetworkOptions { Channels = 4, Layers = 3, Space = SearchSpace.FromName(space) }, // 16 → 8 → 4
            Epochs = 2,
            BatchSize = 8,
            MaxStepsPerEpoch = 2,
            Order = order,
        };
        var preprocessing = new EvalPreprocessing(16, 16, normalization: NormalizationStatistics.Identity);
        using var net = new SearchNetwork(options.Network);
        using var alphaBefore = net.AlphasNormal.detach().clone();
        using var search = new DartsSearch(net, options);
        var reported = new List<SearchEpoch>();

        var epochs = search.Run(
            SearchData.Batches(weightHalf, preprocessing, options.BatchSize, options.Seed),
            SearchData.Batches(archHalf, preprocessing, options.BatchSize, options.Seed + 1),
            new Progress(reported));

        epochs.Select(e => e.Steps).Should().Equal(2, 2);
        reported.Should().HaveCount(2);
        epochs.Select(e => e.LearningRate).Should().Equal([0.025, 0.013], (a, b) => Math.Abs(a - b) < 1e-12); // cosine over 2 epochs: lr at epoch 1 is the midpoint
        epochs.Should().OnlyContain(e => double.IsFinite(e.TrainLoss) && e.TrainLoss > 0);
        net.AlphasNormal.allclose(alphaBefore).Should().BeFalse("Adam moved α");
        var g = epochs[^1].Genotype;
        g.Normal.Should().HaveCount(8);
        g.Normal.Select((e, k) => e.Input < 2 + k / 2).Should().AllBeEquivalentTo(true);
        g.Normal.Concat(g.Reduce).Select(e => e.Operation).Should().OnlyContain(op => options.Network.Space.Operations.Contains(op) && op != Primitives.None);
    }

    private sealed class Progress(List<SearchEpoch> into) : IProgress<SearchEpoch>
    {
        public void Report(SearchEpoch value) => into.Add(value);
    }
}
