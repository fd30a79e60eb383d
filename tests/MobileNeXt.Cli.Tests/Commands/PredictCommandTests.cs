using System.Globalization;
using MobileNeXt.Inference;
using MobileNeXt.Interop;
using MobileNeXt.Models;
using MobileNeXt.Tests.Shared;

namespace MobileNeXt.Cli.Tests.Commands;

/// <summary><c>mobilenext predict</c>: top-k classes of image files with their names, and bad inputs.</summary>
[Collection(TrainedRunCollection.Name)]
public class PredictCommandTests(TrainedRun run)
{
    private const int TopK = 3;

    [Fact]
    public void Should_name_the_classes_with_the_names_the_training_checkpoint_stores()
    {
        string image = Image("checkpoint-names.png");

        var result = Cli.Run("predict", image, "-m", TrainedRun.Model, "-w", run.LastCheckpoint, "-k", $"{TopK}").ShouldSucceed();

        var classes = run.CheckpointClasses();
        classes.Should().HaveCount(TrainedRun.Classes).And.OnlyHaveUniqueItems();
        PredictionRows(result).Should().Equal(Expected(image, classes));
    }

    [Fact]
    public void Should_name_the_classes_from_a_labels_file_over_the_checkpoints_names()
    {
        string image = Image("labels-file.png");
        string labelsFile = run.Scratch("labels.txt");
        string[] labels = [.. Enumerable.Range(0, TrainedRun.Classes).Select(i => $"label {i}")];
        File.WriteAllLines(labelsFile, labels);

        var result = Cli.Run("predict", image, "-m", TrainedRun.Model, "-w", run.LastCheckpoint, "--labels", labelsFile, "-k", $"{TopK}").ShouldSucceed();

        PredictionRows(result).Should().Equal(Expected(image, labels));
    }

    [Fact]
    public void Should_exit_1_when_the_labels_file_has_another_number_of_classes()
    {
        string labelsFile = run.Scratch("three-labels.txt");
        File.WriteAllLines(labelsFile, ["a", "b", "c"]);

        Cli.Run("predict", Image("three-labels.png"), "-m", TrainedRun.Model, "-w", run.LastCheckpoint, "--labels", labelsFile)
            .ShouldFailWith(1, "3 labels were given for a model with 10 classes; give one label per class, in class-index order.");
    }

    [Fact]
    public void Should_exit_1_naming_a_missing_image()
    {
        string missing = run.Scratch("no-such-image.png");
        Cli.Run("predict", missing, "-m", TrainedRun.Model, "-w", run.LastCheckpoint).ShouldFailWith(1, $"Image file '{missing}' does not exist.");
    }

    [Fact]
    public void Should_exit_1_naming_a_missing_weights_file()
    {
        string missing = run.Scratch("no-such-weights.pth");
        Cli.Run("predict", Image("missing-weights.png"), "-m", TrainedRun.Model, "-w", missing).ShouldFailWith(1, $"The weights file '{missing}' does not exist.");
    }

    [Fact]
    public void Should_exit_1_naming_the_model_a_checkpoint_of_another_model_holds()
    {
        Cli.Run("predict", Image("other-model.png"), "-m", "mobilenext_100", "-w", run.LastCheckpoint)
            .ShouldFailWith(1, $"'{run.LastCheckpoint}' holds weights of {TrainedRun.Model}, not mobilenext_100; give --model {TrainedRun.Model} instead.");
    }

    [Fact]
    public void Should_exit_1_when_the_image_is_not_an_image()
    {
        string text = run.Scratch("not-an-image.png");
        File.WriteAllText(text, "not an image");
        Cli.Run("predict", text, "-m", TrainedRun.Model, "-w", run.LastCheckpoint)
            .ShouldFailWith(1, $"'{text}' is not a readable image (*); JPEG and PNG are supported.");
    }

    [Fact]
    public void Should_exit_1_when_the_weights_file_is_not_a_weights_file()
    {
        string text = run.Scratch("not-weights.pth");
        File.WriteAllText(text, "not weights");
        Cli.Run("predict", Image("unreadable-weights.png"), "-m", TrainedRun.Model, "-w", text)
            .ShouldFailWith(1, $"'{text}' is neither a PyTorch weights file (torch.save zip format) nor a complete TorchSharp .dat file (*). It may be truncated or of another kind.");
    }

    [Fact]
    public void Should_exit_2_when_the_weights_are_missing()
    {
        Cli.Run("predict", Image("no-weights.png"), "-m", TrainedRun.Model).ShouldFailWith(2, "Option '--weights' is required.*");
    }

    private string Image(string name)
    {
        string path = run.Scratch(name);
        TestImages.SaveConstant(path, r: 200, g: 40, b: 40, width: 48, height: 40);
        return path;
    }

    /// <summary>(class, label, probability) of each row of predict's table.</summary>
    private static IEnumerable<(string Class, string Label, string Probability)> PredictionRows(CliResult result) =>
        result.TableRows.Where(r => r.Length == 5 && r[1] != "rank").Select(r => (r[2], r[3], r[4]));

    /// <summary>The library's predictor on the same image, with the checkpoint's weights and preprocessing (32² crop of 37).</summary>
    private IEnumerable<(string, string, string)> Expected(string image, IReadOnlyList<string> labels)
    {
        using var model = ModelRegistry.Create(TrainedRun.Model, new ModelCreateOptions { NumClasses = TrainedRun.Classes });
        ModelWeights.Load(model, run.LastCheckpoint);
        using var predictor = new ImagePredictor(model, labels, new EvalPreprocessing((int)Math.Round(TrainedRun.InputSize / 0.875), TrainedRun.InputSize));
        return predictor.Predict(image, TopK)
            .Select(p => (p.ClassIndex.ToString(CultureInfo.InvariantCulture), p.Label!, p.Probability.ToString("P2", CultureInfo.InvariantCulture)))
            .ToList();
    }
}
