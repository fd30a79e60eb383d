using MobileNeXt.Inference;
using MobileNeXt.Search.Evaluation;
using MobileNeXt.Search.Network;
using MobileNeXt.Tests.Shared;
using MobileNeXt.Training;
using MobileNeXt.Training.Checkpoints;
using MobileNeXt.Training.Data;
using MobileNeXt.Training.Recipes;
using MobileNeXt.Training.Reporting;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Search.Tests.Evaluation;

/// <summary>
/// Runs alone: a run draws its initial weights from libtorch's global generator (seeded from the options), which a test
/// class running in parallel would draw from too, breaking the bit-exact comparisons.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DartsEvalCollection
{
    public const string Name = "DARTS evaluation training (libtorch's global generator)";
}

/// <summary>A searched cell's network trained by the one <see cref="Trainer"/> loop through <see cref="DartsEvalTask"/>.</summary>
[Collection(DartsEvalCollection.Name)]
public sealed class DartsEvalTaskTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    // 32² synthetic shapes (the auxiliary head pools an 8² map): 32 to train, 12 to test; 5 cells of 4 channels.
    private static readonly SyntheticShapesDataset Train = new(new SyntheticShapesOptions { Count = 32, ImageSize = 32, Seed = 1 });
    private static readonly SyntheticShapesDataset Test = new(new SyntheticShapesOptions { Count = 12, ImageSize = 32, Seed = 2 });

    private static DartsEvalTask Task(Genotype? genotype = null) =>
        new(DartsEvalSettings.From(genotype ?? Genotype.DartsV2, DartsEvalOptions.Darts with { Channels = 4, Layers = 5 }), Train, Test, NormalizationStatistics.Identity, "synthetic");

    // DARTS's recipe over 4 epochs of 4 steps of 8, one thread, one data worker
    private TrainingOptions Options(string name) => DartsEvalOptions.Darts.TrainingOptions() with
    {
        Epochs = 4,
        BatchSize = 8,
        ReferenceBatchSize = 8,
        Workers = 1,
        Threads = 1,
        OutputDirectory = _folder.Combine(name),
    };

    [Fact]
    public void Should_map_DARTS_recipe_to_the_trainer_options_train_py_uses()
    {
        var o = DartsEvalOptions.Darts.TrainingOptions();
        // quark0/darts cnn/train.py: SGD(lr 0.025, momentum 0.9, weight_decay 3e-4) over model.parameters(),
        // CosineAnnealingLR(epochs) stepped per epoch, clip_grad_norm_ 5, batch 96, 600 epochs, no warm-up
        (o.LearningRate, o.Momentum, o.Nesterov, o.WeightDecay, o.DecayNormAndBias).Should().Be((0.025, 0.9, false, 3e-4, true));
        (o.Schedule, o.WarmupEpochs, o.MinLearningRate, o.LearningRatePerEpoch, o.ClipGradNorm).Should().Be(("cosine", 0, 0.0, true, 5.0));
        (o.BatchSize, o.ReferenceBatchSize, o.Epochs, o.InputSize, o.LabelSmoothing, o.EmaDecay).Should().Be((96, 96, 600, 32, 0.0, (double?)null));
        o.Invoking(x => x.Validate()).Should().NotThrow();
    }

    [Fact]
    public void Should_step_the_learning_rate_and_drop_path_per_epoch_and_train_the_auxiliary_head()
    {
        var recorder = new Recorder();
        var task = Task();
        using var trainer = new Trainer(Options("run"), task, progress: recorder);
        var dropPaths = new List<double>();
        recorder.AfterStep = r => { if (r.StepInEpoch == 1) dropPaths.Add(((EvalNetwork)trainer.Network).DropPathProbability); };
        var result = trainer.Run();

        trainer.StepsPerEpoch.Should().Be(4, "32 images in batches of 8");
        result.GlobalStep.Should().Be(16);
        // train.py: lr_e = 0.025 · (1 + cos(π e / 4)) / 2, the same for every step of epoch e
        double[] expected = [.. Enumerable.Range(0, 4).Select(e => 0.025 * (1 + Math.Cos(Math.PI * e / 4)) / 2)];
        recorder.Steps.Select(s => s.LearningRate).Should().Equal(expected.SelectMany(lr => Enumerable.Repeat(lr, 4)), (a, b) => Math.Abs(a - b) < 1e-12);
        // train.py: drop_path_prob · epoch / epochs
        dropPaths.Should().Equal([0.0, 0.05, 0.1, 0.15], (a, b) => Math.Abs(a - b) < 1e-12);
        recorder.Steps.Select(s => s.Loss).Should().OnlyContain(l => double.IsFinite(l) && l > 0);

        foreach (var epoch in result.Epochs)
        {
            (epoch.Top1 * 12 / 100).Should().BeApproximately(Math.Round(epoch.Top1 * 12 / 100), 1e-9, "a count of the 12 test images");
            epoch.Top5.Should().BeGreaterThanOrEqualTo(epoch.Top1);
        }
        var auxiliary = trainer.Network.named_parameters().Where(p => p.name.StartsWith("auxiliary_head.", StringComparison.Ordinal)).ToList();
        auxiliary.Should().NotBeEmpty();
        auxiliary.Select(p => p.parameter.grad?.abs().sum().item<float>() ?? 0).Should().Contain(g => g > 0, "the 0.4 · auxiliary loss reaches its head");
    }

    [Fact]
    public void Should_give_the_auxiliary_loss_weight_0_4()
    {
        // the task's loss against the closed form CE(main) + 0.4 CE(aux) on the same network, batch and seed
        var task = Task();
        using var trainer = new Trainer(Options("loss") with { Epochs = 1 }, task);
        var network = (EvalNetwork)trainer.Network;
        network.train();
        foreach (var batch in task.ReadEpoch(0, 0))
        {
            using var b = batch;
            using var scope = NewDisposeScope();
            manual_seed(3);
            var loss = task.Loss(network, b).item<float>();
            manual_seed(3);
            var images = MobileNeXt.MemoryLayout.ToChannelsLast(((ImageBatch)b).Images);
            var (logits, aux) = network.ForwardWithAuxiliary(images);
            var labels = ((ImageBatch)b).Labels;
            float main = nn.functional.cross_entropy(logits, labels).item<float>(), side = nn.functional.cross_entropy(aux!, labels).item<float>();
            loss.Should().BeApproximately(main + 0.4f * side, 1e-5f);
            side.Should().BeGreaterThan(0);
            break;
        }
    }

    [Theory]
    [InlineData(false)] // stopped at the epoch boundary
    [InlineData(true)]  // stopped mid-epoch, after step 6 of 16
    public void Should_resume_to_exactly_the_uninterrupted_result_with_the_cell_from_the_checkpoint(bool midEpoch)
    {
        using var straight = new Trainer(Options("straight"), Task());
        straight.Run().GlobalStep.Should().Be(16);

        var options = Options("resumed");
        using var cancel = new CancellationTokenSource();
        var recorder = new Recorder
        {
            AfterStep = r => { if (midEpoch && r.GlobalStep == 6) cancel.Cancel(); },
            AfterEpoch = m => { if (!midEpoch && m.Epoch == 2) cancel.Cancel(); },
        };
        using (var first = new Trainer(options, Task(), progress: recorder))
            first.Run(cancellationToken: cancel.Token).Interrupted.Should().BeTrue();

        // the task is rebuilt from what the checkpoint holds, as 'train --resume' does
        string last = Path.Combine(options.OutputDirectory, CheckpointStore.LastFileName);
        DartsEvalSettings settings;
        using (var checkpoint = TrainingCheckpoint.Read(last))
        {
            checkpoint.Task.Should().Be(DartsEvalTask.TaskName);
            checkpoint.DataSource.Should().Be("synthetic");
            settings = DartsEvalSettings.FromJson(checkpoint.TaskSettings!);
        }
        settings.Genotype.SameAs(Genotype.DartsV2).Should().BeTrue();
        (settings.Channels, settings.Layers, settings.AuxiliaryWeight, settings.DropPath, settings.CutoutLength, settings.CropPadding).Should().Be((4, 5, 0.4, 0.2, 16, 4));
        using var second = new Trainer(options, new DartsEvalTask(settings, Train, Test, NormalizationStatistics.Identity, "synthetic"));
        second.Run(resumeFrom: last).GlobalStep.Should().Be(16);

        var x = straight.Network.state_dict();
        var y = second.Network.state_dict();
        x.Keys.Should().Equal(y.Keys);
        foreach (var (key, value) in x)
            value.eq(y[key]).all().item<bool>().Should().BeTrue($"'{key}' must be bit-identical");
        new MetricsLog(options.OutputDirectory).ReadAll().Select(m => m.Top1).Should().Equal(new MetricsLog(straight.Options.OutputDirectory).ReadAll().Select(m => m.Top1));
    }

    [Fact]
    public void Should_refuse_to_resume_with_another_cell()
    {
        var options = Options("cell") with { Epochs = 2, MaxStepsPerEpoch = 1 };
        using (var trainer = new Trainer(options, Task())) trainer.Run();
        string last = Path.Combine(options.OutputDirectory, CheckpointStore.LastFileName);
        var other = Genotype.DartsV2 with { Normal = [.. Genotype.DartsV2.Normal.Select(e => e with { Operation = "skip_connect" })] };
        Task(other).Cell.ModelName.Should().NotBe(Task().Cell.ModelName);

        using var wrong = new Trainer(options, Task(other));
        wrong.Invoking(t => t.Run(resumeFrom: last)).Should().Throw<InvalidDataException>()
            .WithMessage($"Checkpoint '{last}' holds {Task().Cell.ModelName} *, but this run trains {Task(other).Cell.ModelName} *");
    }

    [Fact]
    public void Should_read_back_its_settings_and_name_bad_ones()
    {
        var settings = Task().Cell;
        var back = DartsEvalSettings.FromJson(settings.ToJson());
        back.Genotype.SameAs(settings.Genotype).Should().BeTrue();
        (back with { Genotype = settings.Genotype }).Should().Be(settings);
        back.ModelName.Should().MatchRegex("^darts_c4_l5_[0-9a-f]{8}$");
        FluentActions.Invoking(() => DartsEvalSettings.FromJson("{\"channels\": 4}")).Should().Throw<InvalidDataException>().WithMessage("*no genotype*");
        FluentActions.Invoking(() => DartsEvalSettings.FromJson("not json")).Should().Throw<InvalidDataException>();
        FluentActions.Invoking(() => new DartsEvalTask(settings with { Channels = 3 }, Train, Test, NormalizationStatistics.Identity))
            .Should().Throw<ArgumentException>().WithMessage("*even*");
    }

    private sealed class Recorder : ITrainingProgress
    {
        public List<StepReport> Steps { get; } = [];
        public Action<StepReport>? AfterStep { get; set; }
        public Action<EpochMetrics>? AfterEpoch { get; init; }
        public void OnStep(StepReport report) { Steps.Add(report); AfterStep?.Invoke(report); }
        public void OnEpoch(EpochMetrics metrics) => AfterEpoch?.Invoke(metrics);
        public void OnMessage(string message) { }
    }
}
