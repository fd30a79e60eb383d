using System.Text.Json;
using MobileNeXt.Detection.Data;
using MobileNeXt.Detection.Inference;
using MobileNeXt.Detection.Training;
using MobileNeXt.Tests.Shared;
using MobileNeXt.Training;
using MobileNeXt.Training.Checkpoints;
using MobileNeXt.Training.Recipes;
using MobileNeXt.Training.Reporting;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Detection.Tests.Training;

/// <summary>
/// Runs alone: a run draws its initial weights from libtorch's global generator (seeded from the options), which a test
/// class running in parallel would draw from too, breaking the bit-exact comparisons.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DetectionTrainingCollection
{
    public const string Name = "detection training (libtorch's global generator)";
}

/// <summary>Detection trained by the one <see cref="Trainer"/> loop through <see cref="DetectionTask"/>, on tiny built-in scenes.</summary>
[Collection(DetectionTrainingCollection.Name)]
public sealed class DetectionTrainingTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    // 24 training and 8 validation scenes of 64², so a step is quick; the garments fill 25–60 % of the side.
    private static readonly Lazy<DetectionData> Scenes = new(() =>
    {
        var options = new FashionScenesOptions { Count = 24, ImageSize = 64, MinScale = 0.25, MaxScale = 0.6, MaxObjects = 2, Seed = 1 };
        return new DetectionData(new FashionScenes(options), new FashionScenes(options with { Count = 8, Seed = 2 }), "tiny scenes");
    });

    private TrainingOptions Tiny(string name) => RecipePresets.DetectionScenes with
    {
        Model = "mobilenext_035",
        InputSize = 64,
        Epochs = 2,
        BatchSize = 4,
        ReferenceBatchSize = 4,
        LearningRate = 0.01,
        WarmupIterations = 2,
        Milestones = [9],
        Workers = 1,
        Threads = 1,
        OutputDirectory = _folder.Combine(name),
    };

    [Fact]
    public void Should_train_two_epochs_write_a_checkpoint_and_reload_it_as_a_detector_that_finds_objects()
    {
        var options = Tiny("run");
        var steps = new Recorder();
        using var trainer = new Trainer(options, new DetectionTask(Scenes.Value), progress: steps);
        var result = trainer.Run();

        trainer.StepsPerEpoch.Should().Be(6, "24 scenes in batches of 4");
        result.GlobalStep.Should().Be(12);
        var losses = steps.Steps.Select(s => s.Loss).ToList();
        losses.Should().HaveCount(12).And.OnlyContain(l => double.IsFinite(l));
        losses.TakeLast(3).Average().Should().BeLessThan(losses.Take(3).Average(), $"the loss must fall over the run: {string.Join(", ", losses.Select(l => l.ToString("0.00")))}");

        result.Epochs.Should().HaveCount(2);
        foreach (var epoch in result.Epochs)
        {
            epoch.MetricName.Should().Be("mAP@0.5");
            epoch.Metrics!.Keys.Should().BeEquivalentTo("mAP@0.5", "mAP@0.5 all-point", "mAP@[.5:.95]");
            epoch.Metrics.Values.Should().OnlyContain(v => v >= 0 && v <= 100);
        }
        string log = File.ReadAllLines(Path.Combine(options.OutputDirectory, MetricsLog.FileName))[0];
        JsonDocument.Parse(log).RootElement.TryGetProperty("top1", out _).Should().BeFalse("a detection run has no top-1 to log");
        log.Should().Contain("\"metric_name\":\"mAP@0.5\"");

        string last = Path.Combine(options.OutputDirectory, CheckpointStore.LastFileName);
        TrainedDetector.IsDetectionCheckpoint(last).Should().BeTrue();
        using var trained = TrainedDetector.Load(last);
        trained.Classes.Should().Equal(MobileNeXt.Training.Data.FashionMnistDataset.ClassNames);
        ShouldBeIdentical(trainer.Network, trained.Detector);
        using var detector = new ObjectDetector(trained.Detector, trained.Classes);
        using var image = Scenes.Value.Validation.LoadImage(0);
        var found = detector.Detect(image);
        found.Should().NotBeEmpty();
        found.Should().OnlyContain(d => d.Score > 0.01f && d.Class >= 0 && d.Class < 10 && d.X2 >= d.X1 && d.Y2 >= d.Y1);
    }

    [Theory]
    [InlineData(false)] // stopped at the epoch boundary
    [InlineData(true)]  // stopped mid-epoch, after step 4 of 12
    public void Should_resume_to_exactly_the_uninterrupted_result(bool midEpoch)
    {
        var data = Scenes.Value;
        TrainingOptions Options(string name) => Tiny(name) with { EmaDecay = 0.9 };
        using var straight = new Trainer(Options("straight"), new DetectionTask(data));
        straight.Run().GlobalStep.Should().Be(12);

        var options = Options("resumed");
        using var cancel = new CancellationTokenSource();
        var recorder = new Recorder
        {
            AfterStep = r => { if (midEpoch && r.GlobalStep == 4) cancel.Cancel(); },
            AfterEpoch = m => { if (!midEpoch && m.Epoch == 1) cancel.Cancel(); },
        };
        using (var first = new Trainer(options, new DetectionTask(data), progress: recorder))
            first.Run(cancellationToken: cancel.Token).Interrupted.Should().BeTrue();
        using var second = new Trainer(options, new DetectionTask(data));
        second.Run(resumeFrom: Path.Combine(options.OutputDirectory, CheckpointStore.LastFileName)).GlobalStep.Should().Be(12);

        ShouldBeIdentical(straight.Network, second.Network);
        ShouldBeIdentical(straight.Ema!.Module, second.Ema!.Module);
        new MetricsLog(options.OutputDirectory).ReadAll().Select(m => m.Epoch).Should().Equal(1, 2);
    }

    [Fact]
    public void Should_refuse_to_resume_a_checkpoint_of_another_task_or_class_count()
    {
        var options = Tiny("other") with { Epochs = 1 };
        using (var trainer = new Trainer(options, new DetectionTask(Scenes.Value))) trainer.Run();
        string last = Path.Combine(options.OutputDirectory, CheckpointStore.LastFileName);

        var shapes = new TrainingData(
            new MobileNeXt.Training.Data.SyntheticShapesDataset(new() { Count = 16, ImageSize = 32, NumClasses = 4, Seed = 1 }),
            new MobileNeXt.Training.Data.SyntheticShapesDataset(new() { Count = 8, ImageSize = 32, NumClasses = 4, Seed = 2 }), "shapes");
        var classification = RecipePresets.FashionMnist with { Model = "mobilenext_035", BatchSize = 4, Threads = 1, OutputDirectory = options.OutputDirectory };
        using (var wrong = new Trainer(classification, shapes))
            wrong.Invoking(t => t.Run(resumeFrom: last)).Should().Throw<InvalidDataException>()
                .WithMessage($"Checkpoint '{last}' is of a detection run, but this run trains classification; resume it with --task detection*");

        var fewer = new DetectionData(new ClassSubset(Scenes.Value.Train, 4), new ClassSubset(Scenes.Value.Validation, 4), "four classes");
        using var other = new Trainer(options, new DetectionTask(fewer));
        other.Invoking(t => t.Run(resumeFrom: last)).Should().Throw<InvalidDataException>().WithMessage("*10 classes*4 classes*");
    }

    private static void ShouldBeIdentical(nn.Module a, nn.Module b)
    {
        var x = a.state_dict();
        var y = b.state_dict();
        x.Keys.Should().Equal(y.Keys);
        foreach (var (key, value) in x)
            value.eq(y[key]).all().item<bool>().Should().BeTrue($"'{key}' must be bit-identical");
    }

    /// <summary>The same images named with only the first <paramref name="classes"/> classes (a dataset with another class count).</summary>
    private sealed class ClassSubset(IDetectionDataset inner, int classes) : IDetectionDataset
    {
        public int Count => inner.Count;
        public IReadOnlyList<string> Classes => inner.Classes.Take(classes).ToList();
        public IReadOnlyList<ObjectBox> GetObjects(int index) => inner.GetObjects(index).Where(o => o.Label < classes).ToList();
        public SkiaSharp.SKBitmap LoadImage(int index) => inner.LoadImage(index);
    }

    private sealed class Recorder : ITrainingProgress
    {
        public List<StepReport> Steps { get; } = [];
        public Action<StepReport>? AfterStep { get; init; }
        public Action<EpochMetrics>? AfterEpoch { get; init; }
        public void OnStep(StepReport report) { Steps.Add(report); AfterStep?.Invoke(report); }
        public void OnEpoch(EpochMetrics metrics) => AfterEpoch?.Invoke(metrics);
        public void OnMessage(string message) { }
    }
}
