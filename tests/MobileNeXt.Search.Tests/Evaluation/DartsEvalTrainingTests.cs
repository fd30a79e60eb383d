using MobileNeXt.Search.Data;
using MobileNeXt.Search.Evaluation;
using MobileNeXt.Search.Network;
using MobileNeXt.Search.Search;
using MobileNeXt.Training.Data;
using static TorchSharp.torch;

namespace MobileNeXt.Search.Tests.Evaluation;

public class DartsEvalTrainingTests
{
    [Fact]
    public void Should_train_with_DARTS_schedules_of_learning_rate_and_drop_path_per_epoch()
    {
        manual_seed(5);
        // 32² synthetic shapes (the auxiliary head pools an 8² map), 5 cells of 4 channels, 2 steps of 8 per epoch
        var shapes = new SyntheticShapesDataset(new SyntheticShapesOptions { Count = 32, ImageSize = 32 });
        var options = DartsEvalOptions.Darts with { Channels = 4, Layers = 5, Epochs = 2, BatchSize = 8 };
        var trainTransform = new DartsAugmentation(new DartsAugmentationOptions { CutoutLength = options.CutoutLength });
        var testTransform = new DartsAugmentation(new DartsAugmentationOptions { Train = false });
        var train = SearchData.Batches(shapes, trainTransform, options.BatchSize, options.Seed);
        var test = SearchData.Batches(new SubsetDataset(shapes, [.. Enumerable.Range(0, 12)]), testTransform, 8, options.Seed);
        using var net = new EvalNetwork(new EvalNetworkOptions { Genotype = Genotype.DartsV2, Channels = options.Channels, Layers = options.Layers });
        var before = net.parameters().Select(p => p.detach().clone()).ToList();
        using var run = new DartsEvalTraining(net, options) { MaxStepsPerEpoch = 2 };

        var epochs = run.Run(train, () => test(0));

        // cosine over 2 epochs: 0.025, then 0.025 · (1 + cos(π/2)) / 2; drop-path 0.2 · epoch / 2
        epochs.Select(e => e.LearningRate).Should().Equal([0.025, 0.0125], (a, b) => Math.Abs(a - b) < 1e-12);
        epochs.Select(e => e.DropPath).Should().Equal([0.0, 0.1], (a, b) => Math.Abs(a - b) < 1e-12);
        net.DropPathProbability.Should().BeApproximately(0.1, 1e-12);
        epochs.Select(e => e.Steps).Should().Equal(2, 2);
        epochs.Should().OnlyContain(e => double.IsFinite(e.TrainLoss) && e.TrainLoss > 0 && e.TestAccuracy >= 0 && e.TestAccuracy <= 1);
        // the test accuracy is a count over the 12 test images
        epochs.Should().OnlyContain(e => Math.Abs(e.TestAccuracy * 12 - Math.Round(e.TestAccuracy * 12)) < 1e-9);
        net.training.Should().BeFalse("the test pass leaves the network in evaluation mode");
        net.parameters().Zip(before).Should().Contain(pair => !pair.First.allclose(pair.Second, 0, 0, false), "SGD moved the weights");
        var auxiliary = net.named_parameters().Where(p => p.name.StartsWith("auxiliary_head.")).ToList();
        auxiliary.Should().NotBeEmpty();
        auxiliary.Select(p => p.parameter.grad?.abs().sum().item<float>() ?? 0).Should().Contain(g => g > 0, "the auxiliary loss reaches its head");
    }
}
