using MobileNeXt.Search.Data;
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

    private static (DartsSearchOptions Options, Func<int, IEnumerable<(Tensor, Tensor)>> Train, Func<int, int, (Tensor, Tensor)> Valid) Tiny(SearchOrder order, string space, int epochs = 2)
    {
        // generated 16×16 images of 10 classes (Training's synthetic shapes), so the test needs no download
        var shapes = new SyntheticShapesDataset(new SyntheticShapesOptions { Count = 48, ImageSize = 16 });
        var (weightHalf, archHalf) = SearchData.Split(shapes);
        var options = new DartsSearchOptions
        {
            Network = new SearchNetworkOptions { Channels = 4, Layers = 3, Space = SearchSpace.FromName(space) }, // 16 → 8 → 4
            Epochs = epochs,
            BatchSize = 8,
            MaxStepsPerEpoch = 2,
            Order = order,
        };
        var augmentation = new DartsAugmentation(new DartsAugmentationOptions { Size = 16, Padding = 2 });
        return (options,
            SearchData.Batches(weightHalf, augmentation, options.BatchSize, options.Seed),
            SearchData.RandomBatch(archHalf, augmentation, options.BatchSize, options.Seed + 1));
    }

    [Theory]
    [InlineData(SearchOrder.First, "darts+sandglass")]
    [InlineData(SearchOrder.Second, "darts")]
    public void Should_search_two_epochs_of_a_few_steps_end_to_end(SearchOrder order, string space)
    {
        manual_seed(2);
        var (options, train, valid) = Tiny(order, space);
        using var net = new SearchNetwork(options.Network);
        using var alphaBefore = net.AlphasNormal.detach().clone();
        using var search = new DartsSearch(net, options);
        var reported = new List<SearchEpoch>();
        var steps = new List<SearchStep>();

        var epochs = search.Run(train, valid, new Progress<SearchEpoch>(reported), new Progress<SearchStep>(steps));

        epochs.Select(e => e.Steps).Should().Equal(2, 2);
        reported.Should().HaveCount(2);
        steps.Select(s => (s.Epoch, s.Step)).Should().Equal((0, 0), (0, 1), (1, 0), (1, 1));
        search.EpochsDone.Should().Be(2);
        epochs.Select(e => e.LearningRate).Should().Equal([0.025, 0.013], (a, b) => Math.Abs(a - b) < 1e-12); // cosine over 2 epochs: lr at epoch 1 is the midpoint
        epochs.Should().OnlyContain(e => double.IsFinite(e.TrainLoss) && e.TrainLoss > 0);
        net.AlphasNormal.allclose(alphaBefore).Should().BeFalse("Adam moved α");
        var g = epochs[^1].Genotype;
        g.Normal.Should().HaveCount(8);
        g.Normal.Select((e, k) => e.Input < 2 + k / 2).Should().AllBeEquivalentTo(true);
        g.Normal.Concat(g.Reduce).Select(e => e.Operation).Should().OnlyContain(op => options.Network.Space.Operations.Contains(op) && op != Primitives.None);
    }

    [Fact]
    public void Should_resume_from_a_checkpoint_exactly_as_an_uninterrupted_search()
    {
        // first order keeps the test fast; the state it restores (weights, BatchNorm statistics, α, SGD momentum, Adam
        // moments and step count) is all a second-order search keeps too — its unrolled step reads the same momentum
        string dir = Directory.CreateTempSubdirectory("search-resume").FullName;
        try
        {
            var (options, train, valid) = Tiny(SearchOrder.First, "darts+ir", epochs: 2);
            manual_seed(4);
            using var whole = new SearchNetwork(options.Network);
            using var init = new SearchNetwork(options.Network);
            using (no_grad()) foreach (var (name, t) in init.state_dict()) t.copy_(whole.state_dict()[name]);
            using (var uninterrupted = new DartsSearch(whole, options))
                uninterrupted.Run(train, valid).Should().HaveCount(2);

            // the same start, stopped after epoch 1, saved, and continued by new objects from the file
            string path = Path.Combine(dir, "search.pth");
            using (var first = new DartsSearch(init, options))
            {
                var interrupted = () => first.Run(train, valid, new StopAfter(first, 1, path));
                interrupted.Should().Throw<OperationCanceledException>();
            }
            SearchCheckpoint.Peek(path).Should().Be(("darts+ir", 1));
            manual_seed(99); // different initial weights: the checkpoint must overwrite every one
            using var resumedNet = new SearchNetwork(options.Network);
            using var resumed = new DartsSearch(resumedNet, options);
            resumed.RestoreCheckpoint(path);
            resumed.EpochsDone.Should().Be(1);
            resumed.Run(train, valid).Select(e => e.Epoch).Should().Equal(1);

            var expected = whole.state_dict();
            expected.Keys.Should().Contain("alphas_normal").And.Contain("alphas_reduce");
            foreach (var (name, t) in resumedNet.state_dict())
                t.equal(expected[name]).all().item<bool>().Should().BeTrue($"{name} equals the uninterrupted run's");
            resumed.History.Select(e => e.Epoch).Should().Equal(0, 1);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Should_refuse_to_resume_a_search_of_another_space_or_order_or_a_file_that_is_no_checkpoint()
    {
        string dir = Directory.CreateTempSubdirectory("search-space").FullName;
        try
        {
            var (options, train, valid) = Tiny(SearchOrder.First, "darts", epochs: 1);
            using var net = new SearchNetwork(options.Network);
            using var search = new DartsSearch(net, options);
            search.Run(train, valid);
            string path = Path.Combine(dir, "search.pth");
            search.SaveCheckpoint(path);
            var other = options with { Network = options.Network with { Space = SearchSpace.DartsSandglass } };
            using var otherNet = new SearchNetwork(other.Network);
            using var otherSearch = new DartsSearch(otherNet, other);
            var act = () => otherSearch.RestoreCheckpoint(path);
            act.Should().Throw<InvalidDataException>().WithMessage("*search of space 'darts'; it cannot resume a search of 'darts+sandglass'*");

            using var secondNet = new SearchNetwork(options.Network);
            using var second = new DartsSearch(secondNet, options with { Order = SearchOrder.Second });
            var switchOrder = () => second.RestoreCheckpoint(path);
            switchOrder.Should().Throw<InvalidDataException>().WithMessage("*is an order-1 search; it cannot resume as order 2*--order 1).");

            string garbage = Path.Combine(dir, "garbage.pth");
            File.WriteAllText(garbage, "not a checkpoint");
            var peek = () => SearchCheckpoint.Peek(garbage);
            peek.Should().Throw<InvalidDataException>().WithMessage("*not a readable search checkpoint*");
            var missing = () => SearchCheckpoint.Peek(Path.Combine(dir, "none.pth"));
            missing.Should().Throw<FileNotFoundException>();
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Should_draw_a_fresh_random_validation_batch_of_distinct_samples_per_step()
    {
        // train_search.py takes next(iter(valid_queue)) at every step: the first batch of a new random permutation;
        // labels identify samples here (one sample per label), so a batch of 10 from 10 must hold every label once
        var shapes = new SyntheticShapesDataset(new SyntheticShapesOptions { Count = 10, ImageSize = 16 });
        var test = new DartsAugmentation(new DartsAugmentationOptions { Size = 16, Train = false, Normalization = MobileNeXt.Inference.NormalizationStatistics.Identity });
        Enumerable.Range(0, 10).Select(shapes.GetLabel).Should().OnlyHaveUniqueItems("the test's premise");
        var batch = SearchData.RandomBatch(shapes, test, 10, seed: 3);
        var (a, la) = batch(0, 0);
        var (b, lb) = batch(0, 1);
        var (again, _) = batch(0, 0);
        a.equal(again).all().item<bool>().Should().BeTrue("the batch depends only on (seed, epoch, step)");
        la.data<long>().ToArray().Should().BeEquivalentTo(Enumerable.Range(0, 10).Select(i => (long)shapes.GetLabel(i)));
        la.data<long>().ToArray().Should().NotEqual(lb.data<long>().ToArray(), "another step draws another permutation");

        var small = SearchData.RandomBatch(shapes, test, 3, seed: 3);
        var firsts = Enumerable.Range(0, 40).Select(step => small(0, step).Labels.data<long>()[0]).Distinct().Count();
        firsts.Should().BeGreaterThan(5, "every sample can come first (40 draws over 10 samples)");
        var tooBig = () => SearchData.RandomBatch(shapes, test, 11, seed: 3);
        tooBig.Should().Throw<ArgumentException>().WithMessage("*between 1 and 10*");
    }

    [Fact]
    public void Should_step_Adam_by_PyTorch_formula()
    {
        // first step: m̂ = g and v̂ = g², so θ moves by η·g/(|g| + ε); a second step with the same g moves as much again
        using var p = new Parameter(tensor(new[] { 1.0f, -2.0f }));
        using var adam = new ArchitectureAdam([p], learningRate: 0.1, beta1: 0.5, beta2: 0.999, weightDecay: 0);
        p.grad = tensor(new[] { 0.5f, -4.0f });
        adam.Step();
        p.data<float>().ToArray().Should().Equal([0.9f, -1.9f], (x, y) => Math.Abs(x - y) < 1e-6);
        adam.Step();
        p.data<float>().ToArray().Should().Equal([0.8f, -1.8f], (x, y) => Math.Abs(x - y) < 1e-6);
        adam.Steps.Should().Be(2);

        // β₁ = β₂ = 0.5, η = 0.1, θ = 0, g = 1 then 3: step 1 θ = −0.1; step 2 m = 1.75, v = 4.75, both corrections 0.75,
        // θ = −0.1 − 0.1 · (1.75/0.75) / √(4.75/0.75) = −0.1 − 0.1 · 2.333333/2.516611 = −0.1927173
        using var q = new Parameter(tensor(new[] { 0.0f }));
        using var adam2 = new ArchitectureAdam([q], learningRate: 0.1, beta1: 0.5, beta2: 0.5, weightDecay: 0);
        q.grad = tensor(new[] { 1.0f });
        adam2.Step();
        q.grad = tensor(new[] { 3.0f });
        adam2.Step();
        q.item<float>().Should().BeApproximately(-0.1927173f, 1e-6f);

        // L2 decay enters the gradient: θ = −2, g = 1, λ = 1 → g + λθ = −1, so θ moves up by η against the raw gradient
        using var r = new Parameter(tensor(new[] { -2.0f }));
        using var adam3 = new ArchitectureAdam([r], learningRate: 0.1, beta1: 0.5, beta2: 0.999, weightDecay: 1);
        r.grad = tensor(new[] { 1.0f });
        adam3.Step();
        r.item<float>().Should().BeApproximately(-1.9f, 1e-6f);
    }

    [Fact]
    public void Should_step_Adam_as_libtorch_Adam_over_several_steps_with_weight_decay()
    {
        // independent implementation: TorchSharp's optim.Adam (libtorch's), DARTS's α hyper-parameters
        manual_seed(7);
        using var start = randn(3, 4);
        using var mine = new Parameter(start.clone());
        using var theirs = new Parameter(start.clone());
        using var adam = new ArchitectureAdam([mine], learningRate: 3e-4, beta1: 0.5, beta2: 0.999, weightDecay: 1e-3);
        using var reference = optim.Adam([theirs], lr: 3e-4, beta1: 0.5, beta2: 0.999, weight_decay: 1e-3);
        for (int step = 0; step < 5; step++)
        {
            using var g = randn(3, 4);
            adam.ZeroGrad();
            reference.zero_grad();
            mine.grad = g.clone();
            theirs.grad = g.clone();
            adam.Step();
            reference.step();
        }
        mine.allclose(theirs, rtol: 0, atol: 1e-7).Should().BeTrue();
        mine.allclose(start, rtol: 0, atol: 1e-4).Should().BeFalse("five steps of 3e-4 moved θ");
    }

    private sealed class StopAfter(DartsSearch search, int epochs, string path) : IProgress<SearchEpoch>
    {
        public void Report(SearchEpoch value)
        {
            if (search.EpochsDone < epochs) return;
            search.SaveCheckpoint(path);
            throw new OperationCanceledException("stopped as an interrupted run would be");
        }
    }

    private sealed class Progress<T>(List<T> into) : IProgress<T>
    {
        public void Report(T value) => into.Add(value);
    }
}
