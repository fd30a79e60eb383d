using MobileNeXt.Interop;
using MobileNeXt.Models;
using MobileNeXt.Tests.Shared;
using MobileNeXt.Training.Checkpoints;
using MobileNeXt.Training.Data;
using MobileNeXt.Training.Recipes;
using SkiaSharp;
using TorchSharp;
using Xunit.Abstractions;

namespace MobileNeXt.Training.Tests.Training;

/// <summary>
/// Fine-tuning (<see cref="TrainingOptions.InitialWeights"/>, <see cref="TrainingOptions.FreezeFeatures"/>): weights
/// trained on one label set of the synthetic shapes (classes 0–9: red and green circles, squares, triangles, crosses,
/// rings) are fine-tuned on another (classes 10–19: the same shapes in blue and yellow).
/// </summary>
[Collection(GlobalGeneratorCollection.Name)]
public sealed class FineTuningTests : IClassFixture<FineTuningTests.PretrainedOnFirstLabelSet>, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mobilenext-finetune-").FullName;
    private readonly PretrainedOnFirstLabelSet _pretrained;

    private readonly ITestOutputHelper _output;

    public FineTuningTests(PretrainedOnFirstLabelSet pretrained, ITestOutputHelper output)
    {
        _pretrained = pretrained;
        _output = output;
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private const int Side = 64;

    /// <summary>The finetune preset at 64² for MobileNeXt-0.35 on one thread (deterministic), with a rate for batch 32.</summary>
    internal static TrainingOptions Small(string output) => RecipePresets.FineTune with
    {
        Model = "mobilenext_035",
        InputSize = Side,
        EvalResizeSize = Side,
        BatchSize = 32,
        ReferenceBatchSize = 32,
        LearningRate = 0.05,
        Epochs = 2,
        WarmupEpochs = 0,
        ClipGradNorm = 2.0, // at 32² the last stages run at 1×1, where BatchNorm's small variances amplify gradients
        Workers = 1,
        Threads = 1,
        OutputDirectory = output,
    };

    /// <summary>Trains MobileNeXt-0.35 once on label set A (640 images, 12 epochs of 20 steps); the tests start from its checkpoint.</summary>
    public sealed class PretrainedOnFirstLabelSet : IDisposable
    {
        private readonly string _root = Directory.CreateTempSubdirectory("mobilenext-pretrain-").FullName;

        public PretrainedOnFirstLabelSet()
        {
            var options = Small(Path.Combine(_root, "a")) with { Epochs = 12, WarmupEpochs = 1, LearningRate = 0.1 };
            using var trainer = new Trainer(options, LabelSet(first: 0, classes: 10, trainCount: 640));
            var result = trainer.Run();
            Top1 = result.Epochs[^1].Top1;
            Checkpoint = result.LastCheckpoint!;
        }

        public string Checkpoint { get; }

        public double Top1 { get; }

        public void Dispose()
        {
            try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Classes first … first + classes − 1 of the 20-class shapes, relabelled from 0; validation drawn with another seed.</summary>
    internal static TrainingData LabelSet(int first, int classes, int trainCount, int valCount = 200) => new(
        new ShapeClasses(first, classes, trainCount, seed: 1), new ShapeClasses(first, classes, valCount, seed: 2), $"shapes {first}–{first + classes - 1}");

    private sealed class ShapeClasses : IImageDataset
    {
        private const int AllClasses = 20;
        private readonly SyntheticShapesDataset _all;
        private readonly int _first, _classes;

        public ShapeClasses(int first, int classes, int count, int seed)
        {
            _first = first;
            _classes = classes;
            Count = count;
            _all = new SyntheticShapesDataset(new SyntheticShapesOptions { NumClasses = AllClasses, Count = ((count - 1) / classes + 1) * AllClasses, ImageSize = Side, Seed = seed });
            Classes = [.. _all.Classes.Skip(first).Take(classes)];
        }

        public int Count { get; }
        public IReadOnlyList<string> Classes { get; }
        public int GetLabel(int index) => index % _classes;
        public SKBitmap? LoadImage(int index) => _all.LoadImage(index / _classes * AllClasses + _first + index % _classes);
    }

    private static Dictionary<string, torch.Tensor> Snapshot(torch.nn.Module model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    private static bool Same(torch.Tensor a, torch.Tensor b) => a.eq(b).all().item<bool>();

    [Fact]
    public void Should_converge_faster_from_weights_trained_on_other_classes_than_from_scratch()
    {
        // Label set B, 320 training images, two epochs of 10 steps, the same recipe and seed; only the start differs.
        // Measured (2-core machine, one libtorch thread; the whole class takes about 45 s): A's checkpoint reaches
        // 58.5 % on A after 12 epochs. On B, validation top-1 after epochs 1 and 2 — from scratch 10.0 % and 10.0 %
        // (chance: 20 steps are too few to leave the initialisation), fine-tuned 44.0 % and 57.0 %; mean training loss
        // — from scratch 2.31 and 2.30 (ln 10 = 2.30), fine-tuned 1.55 and 1.13.
        var data = LabelSet(first: 10, classes: 10, trainCount: 320);
        using var scratch = new Trainer(Small(Path.Combine(_root, "scratch")), data);
        var fromScratch = scratch.Run();
        using var tuned = new Trainer(Small(Path.Combine(_root, "tuned")) with { InitialWeights = _pretrained.Checkpoint }, data);
        var fineTuned = tuned.Run();
        tuned.Initialisation!.ReplacedClassifier.Should().BeTrue("A's classifier names ten other classes, although as many");
        tuned.Initialisation.OtherClassNames.Should().BeTrue();

        string Curve(TrainingResult r) => string.Join(", ", r.Epochs.Select(m => $"{m.Top1:0.0} % (loss {m.TrainLoss:0.00})"));
        string because = $"scratch: {Curve(fromScratch)}; fine-tuned: {Curve(fineTuned)}; A: {_pretrained.Top1:0.0} %";
        _output.WriteLine(because);
        fineTuned.Epochs[0].TrainLoss.Should().BeLessThan(fromScratch.Epochs[0].TrainLoss - 0.3, because);
        fineTuned.Epochs[0].Top1.Should().BeGreaterThan(fromScratch.Epochs[0].Top1 + 15, because);
        fineTuned.Epochs[1].Top1.Should().BeGreaterThan(fromScratch.Epochs[1].Top1 + 15, because);
    }

    [Fact]
    public void Should_replace_the_classifier_for_another_class_count_and_load_every_backbone_tensor()
    {
        using var saved = TrainingCheckpoint.Read(_pretrained.Checkpoint);
        using var model = ModelRegistry.Create("mobilenext_035", new ModelCreateOptions { NumClasses = 5 });
        var head = InitialWeights.HeadKeys(model);
        head.Should().BeEquivalentTo(["classifier.1.weight", "classifier.1.bias"]);
        var freshHead = Snapshot(model.Classifier);

        var report = InitialWeights.Load(model, _pretrained.Checkpoint);

        report.ReplacedClassifier.Should().BeTrue();
        (report.FileClasses, report.ModelClasses, report.LoadedTensors).Should().Be((10, 5, saved.ModelState.Count - 2));
        report.ToString().Should().NotContain("\n").And.Contain("classifier was replaced (10 classes in the file, 5 in the data");
        model.NumClasses.Should().Be(5);
        model.state_dict()["classifier.1.weight"].shape.Should().Equal(5, model.NumFeatures);
        model.state_dict()["classifier.1.bias"].shape.Should().Equal(5);
        foreach (var (key, value) in model.Classifier.state_dict())
            Same(value, freshHead[key]).Should().BeTrue("the new head keeps its own initialisation");
        foreach (var (key, value) in model.state_dict().Where(kv => !head.Contains(kv.Key)))
            Same(value, saved.ModelState[key]).Should().BeTrue($"'{key}' comes from the file");
    }

    [Theory]
    [InlineData("mobilenext_035", "classifier.1.")]
    [InlineData("mobilenetv2_035", "classifier.1.")]
    [InlineData("mobilenext_se_100", "_fc.")] // the flat layout of the released MobileNeXt† keys
    public void Should_find_the_classifier_in_either_key_layout(string name, string prefix)
    {
        using var model = ModelRegistry.Create(name, new ModelCreateOptions { NumClasses = 7 });
        InitialWeights.HeadKeys(model).Should().BeEquivalentTo([prefix + "weight", prefix + "bias"]);
        InitialWeights.BackboneParameters(model).Should().HaveCount(model.parameters().Count() - 2);
    }

    [Fact]
    public void Should_keep_the_files_classifier_when_the_class_count_is_the_same()
    {
        using var saved = TrainingCheckpoint.Read(_pretrained.Checkpoint);
        using var model = ModelRegistry.Create("mobilenext_035", new ModelCreateOptions { NumClasses = 10 });
        var report = InitialWeights.Load(model, _pretrained.Checkpoint);
        report.ReplacedClassifier.Should().BeFalse();
        report.LoadedTensors.Should().Be(saved.ModelState.Count);
        foreach (var (key, value) in model.state_dict()) Same(value, saved.ModelState[key]).Should().BeTrue(key);
    }

    [Theory]
    [InlineData("mobilenetv2_035")] // another architecture
    [InlineData("mobilenext_050")]  // another width
    public void Should_refuse_a_backbone_of_another_architecture_or_width(string other)
    {
        using var model = ModelRegistry.Create(other, new ModelCreateOptions { NumClasses = 5 });
        var before = Snapshot(model);
        var act = () => InitialWeights.Load(model, _pretrained.Checkpoint);
        act.Should().Throw<WeightsMismatchException>().WithMessage("The weights in '*' do not fit this model; nothing was loaded.*");
        foreach (var (key, value) in model.state_dict()) Same(value, before[key]).Should().BeTrue($"'{key}' must be untouched");
    }

    [Fact]
    public void Should_not_move_frozen_parameters_nor_their_BatchNorm_statistics()
    {
        // Weight decay on and several steps: a frozen tensor that received decay or a momentum step would move.
        var options = Small(Path.Combine(_root, "probe")) with
        {
            InitialWeights = _pretrained.Checkpoint, FreezeFeatures = true, WeightDecay = 1e-2, Epochs = 1, MaxStepsPerEpoch = 4,
        };
        var recorder = new Recorder();
        using var trainer = new Trainer(options, LabelSet(first: 10, classes: 5, trainCount: 160), progress: recorder);
        trainer.Run();

        recorder.Messages.Should().Contain(m => m.Contains("classifier was replaced"));
        using var saved = TrainingCheckpoint.Read(_pretrained.Checkpoint);
        var head = InitialWeights.HeadKeys(trainer.Model);
        foreach (var (key, value) in trainer.Model.state_dict().Where(kv => !head.Contains(kv.Key)))
            Same(value, saved.ModelState[key]).Should().BeTrue($"frozen '{key}' must stay bit-identical (BatchNorm statistics included)");
        trainer.Model.state_dict()["classifier.1.weight"].shape.Should().Equal(5, trainer.Model.NumFeatures);
        using var written = TrainingCheckpoint.Read(Path.Combine(options.OutputDirectory, CheckpointStore.LastFileName));
        written.MomentumBuffers.Keys.Should().BeEquivalentTo(head, "only the classifier was stepped");
        written.Classes.Should().Equal("blue circle", "blue square", "blue triangle", "blue cross", "blue ring");
    }

    [Theory]
    [InlineData(1)] // stopped in the frozen epoch
    [InlineData(3)] // stopped in the epoch after unfreezing
    public void Should_resume_a_fine_tune_run_to_exactly_the_uninterrupted_result(int stopAfterStep)
    {
        var data = LabelSet(first: 10, classes: 5, trainCount: 160);
        TrainingOptions Options(string name) => Small(Path.Combine(_root, name)) with
        {
            InitialWeights = _pretrained.Checkpoint, FreezeFeatures = true, UnfreezeAfterEpochs = 1, MaxStepsPerEpoch = 2, EmaDecay = 0.9,
        };
        using var saved = TrainingCheckpoint.Read(_pretrained.Checkpoint);
        var frozenAfterEpoch1 = new List<bool>();
        Trainer? straight = null;
        var straightRecorder = new Recorder
        {
            AfterEpoch = m =>
            {
                var backbone = straight!.Model.state_dict().Where(kv => !kv.Key.StartsWith("classifier.", StringComparison.Ordinal));
                frozenAfterEpoch1.Add(backbone.All(kv => Same(kv.Value, saved.ModelState[kv.Key])));
            },
        };
        straight = new Trainer(Options("straight"), data, progress: straightRecorder);
        using (straight)
        {
            straight.Run().GlobalStep.Should().Be(4);
            frozenAfterEpoch1.Should().Equal([true, false], "frozen for one epoch, then fine-tuned");
            straightRecorder.Messages.Should().Contain(m => m.Contains("unfrozen"));

            var options = Options("resumed");
            using var cancel = new CancellationTokenSource();
            var recorder = new Recorder { AfterStep = r => { if (r.GlobalStep == stopAfterStep) cancel.Cancel(); } };
            using (var first = new Trainer(options, data, progress: recorder))
                first.Run(cancellationToken: cancel.Token).GlobalStep.Should().Be(stopAfterStep);
            var resumedRecorder = new Recorder();
            using var second = new Trainer(options, data, progress: resumedRecorder);
            second.Run(resumeFrom: Path.Combine(options.OutputDirectory, CheckpointStore.LastFileName)).GlobalStep.Should().Be(4);

            second.Initialisation.Should().BeNull("a resumed run continues from its checkpoint, not from the initial weights");
            TrainingAssertions.ShouldBeIdentical(straight.Model, second.Model);
            TrainingAssertions.ShouldBeIdentical(straight.Ema!.Module, second.Ema!.Module);
        }
    }

    [Fact]
    public void Should_store_the_data_source_in_the_checkpoint()
    {
        var options = Small(Path.Combine(_root, "source")) with { Epochs = 1, MaxStepsPerEpoch = 1 };
        var data = LabelSet(first: 0, classes: 5, trainCount: 64, valCount: 10) with { Source = "/data/my-classes" };
        using (var trainer = new Trainer(options, data)) trainer.Run();
        using var written = TrainingCheckpoint.Read(Path.Combine(options.OutputDirectory, CheckpointStore.LastFileName));
        written.DataSource.Should().Be("/data/my-classes");

        TrainingData.Open("Synthetic").Source.Should().Be("synthetic");
        var folder = Path.Combine(_root, "relative", "..", "folder");
        foreach (var split in new[] { "train", "val" })
        {
            Directory.CreateDirectory(Path.Combine(folder, split, "a"));
            TestImages.SaveConstant(Path.Combine(folder, split, "a", "0.png"));
        }
        TrainingData.Open(folder).Source.Should().Be(Path.GetFullPath(folder), "a folder is stored absolute, so a resume from elsewhere finds it");
    }
}
