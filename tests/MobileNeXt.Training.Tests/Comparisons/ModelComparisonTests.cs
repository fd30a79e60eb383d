using System.Text.Json;
using MobileNeXt.Models;
using MobileNeXt.Profiling;
using MobileNeXt.Training.Comparisons;
using MobileNeXt.Training.Data;
using MobileNeXt.Training.Recipes;

namespace MobileNeXt.Training.Tests.Comparisons;

/// <summary>mobilenext compare's engine: same recipe for every network, the measured columns, the report, resuming.</summary>
public class ModelComparisonTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("mobilenext-compare").FullName;

    public void Dispose()
    {
        try { Directory.Delete(root, recursive: true); } catch (IOException) { }
    }

    private static TrainingData Shapes() => new(
        new SyntheticShapesDataset(new SyntheticShapesOptions { Count = 48, ImageSize = 32, NumClasses = 4, Seed = 1 }),
        new SyntheticShapesDataset(new SyntheticShapesOptions { Count = 40, ImageSize = 32, NumClasses = 4, Seed = 2 }),
        "test shapes");

    private ComparisonOptions Options() => new()
    {
        Models = [ComparedModel.Parse("mobilenext_035"), ComparedModel.Parse("mobilenext_035:a=1/2"), ComparedModel.Parse("mobilenetv2_035")],
        Recipe = RecipePresets.FashionMnist with { Epochs = 1, WarmupEpochs = 0, BatchSize = 8, ReferenceBatchSize = 8, MaxStepsPerEpoch = 2, Threads = 1 },
        OutputDirectory = root,
        Int8 = true,
        LatencyIterations = 2,
        LatencyThreads = 1,
    };

    [Fact]
    public void Should_parse_models_with_alpha_and_width()
    {
        ComparedModel.Parse("mobilenext_100:a=1/6:w=0.75").Should().Be(new ComparedModel("mobilenext_100", 1.0 / 6, 0.75));
        ComparedModel.Parse("mobilenext_100:a=1/2").Label.Should().Be("mobilenext_100_a0.5");
        var bad = () => ComparedModel.Parse("mobilenext_100:x=1");
        bad.Should().Throw<ArgumentException>().WithMessage("'x' in 'mobilenext_100:x=1' is not a model setting; use a=<α> or w=<width>.");
    }

    [Fact]
    public void Should_train_measure_and_report_every_network_and_resume_without_training_again()
    {
        var rows = ModelComparison.Run(Options(), Shapes());
        rows.Select(r => r.Label).Should().Equal("mobilenext_035", "mobilenext_035_a0.5", "mobilenetv2_035");
        foreach (var row in rows)
        {
            using var model = ModelRegistry.Create(row.Model, new ModelCreateOptions { IdentityMultiplier = row.IdentityMultiplier, NumClasses = 4 });
            var profile = ModelProfiler.Profile(model, 32);
            row.Params.Should().Be(profile.TotalParams);
            row.Macs.Should().Be(profile.TotalMacs);
            row.Epochs.Should().ContainSingle().Which.Top1.Should().Be(row.Top1, "the report's top-1 is the trained run's last evaluation");
            row.FusedMilliseconds.Should().BePositive();
            row.OnnxMilliseconds.Should().BePositive();
            row.Int8Top1.Should().NotBeNull();
            row.Int8Agreement.Should().BeInRange(0, 100);
        }
        rows[1].Params.Should().Be(rows[0].Params, "α changes the shortcut, not the weights (Sec. 3.3)");
        rows[1].Macs.Should().Be(rows[0].Macs);
        foreach (var file in new[] { "comparison.md", "comparison.json", "accuracy_vs_macs.png", "accuracy_vs_latency.png", "curves.png" })
            File.Exists(Path.Combine(root, file)).Should().BeTrue(file);
        File.ReadAllLines(Path.Combine(root, "comparison.md")).Should().HaveCount(2 + 3);
        JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "comparison.json"))).RootElement.GetArrayLength().Should().Be(3);

        var written = File.GetLastWriteTimeUtc(Path.Combine(root, "mobilenext_035", "last.pth"));
        var again = ModelComparison.Run(Options(), Shapes());
        File.GetLastWriteTimeUtc(Path.Combine(root, "mobilenext_035", "last.pth")).Should().Be(written, "a finished network is not trained again");
        again.Select(r => (r.Label, r.Top1, r.Params, r.FusedMilliseconds)).Should().Equal(rows.Select(r => (r.Label, r.Top1, r.Params, r.FusedMilliseconds)));
    }

    [Fact]
    public void Should_refuse_no_models_and_a_model_listed_twice()
    {
        var none = () => ModelComparison.Run(Options() with { Models = [] }, Shapes());
        none.Should().Throw<ArgumentException>().WithMessage("Give at least one model to compare.*");
        var twice = () => ModelComparison.Run(Options() with { Models = [ComparedModel.Parse("mobilenext_035"), ComparedModel.Parse("mobilenext_035")] }, Shapes());
        twice.Should().Throw<ArgumentException>().WithMessage("'mobilenext_035' is listed twice.*");
    }
}
