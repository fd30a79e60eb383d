using System.CommandLine;
using System.Globalization;
using MobileNeXt.Inference;
using MobileNeXt.Interop;
using MobileNeXt.Training.Checkpoints;
using Spectre.Console;
using static MobileNeXt.Cli.Format;

namespace MobileNeXt.Cli;

/// <summary><c>mobilenext predict</c>: top-k classes of image files with trained weights.</summary>
internal static class PredictCommand
{
    public static Command Create()
    {
        var options = new ModelOptions(modelAsOption: true);
        var images = new Argument<string[]>("images") { Description = "JPEG or PNG files.", Arity = ArgumentArity.OneOrMore };
        var weights = new Option<string>("--weights", "-w")
        {
            Description = "Trained weights: a PyTorch .pth/.pt state_dict, a .pth.tar training checkpoint, or a TorchSharp .dat file.",
            Required = true,
            HelpName = "file",
        };
        var labels = new Option<string?>("--labels") { Description = "Class names, one per line, in class-index order (default: the names a 'mobilenext train' checkpoint holds).", HelpName = "file" };
        var top = new Option<int>("--top", "-k") { Description = "How many classes to show per image.", DefaultValueFactory = _ => 5, HelpName = "k" };
        var command = new Command("predict", "Classify images: shorter side to 256/224 of the input size (bicubic), centre crop, ImageNet normalisation, top-k softmax.");
        command.Add(images);
        options.AddTo(command);
        command.Add(weights);
        command.Add(labels);
        command.Add(top);
        command.SetAction(result =>
        {
            TorchRuntime.EnsureAvailable();
            string weightsPath = result.GetValue(weights)!;
            // A training checkpoint knows its classes: their names label the output and, without --classes, their count sizes the classifier.
            var stored = TrainingCheckpoint.ReadClasses(weightsPath);
            bool classesGiven = result.GetResult(options.Classes) is { Implicit: false };
            using var model = options.Build(result, classesGiven ? null : stored?.Count);
            ModelWeights.Load(model, weightsPath);
            var names = result.GetValue(labels) is { } file ? ImagePredictor.LoadLabels(file) : stored;
            int crop = result.GetValue(options.InputSize);
            // ImageNet's evaluation resizes to crop / 0.875 (256 for 224).
            var preprocessing = new EvalPreprocessing((int)Math.Round(crop / 0.875), crop);
            using var predictor = new ImagePredictor(model, names, preprocessing);
            var table = NewTable(options.Describe(result)).Columns("image", ">rank", ">class", "label", ">probability");
            foreach (var path in result.GetValue(images)!)
            {
                var predictions = predictor.Predict(path, result.GetValue(top));
                for (int i = 0; i < predictions.Count; i++)
                {
                    var p = predictions[i];
                    table.Row(i == 0 ? Markup.Escape(path) : "", (i + 1).ToString(CultureInfo.InvariantCulture),
                        p.ClassIndex.ToString(CultureInfo.InvariantCulture), Markup.Escape(p.Label ?? "–"), p.Probability.ToString("P2", CultureInfo.InvariantCulture));
                }
            }
            AnsiConsole.Write(table);
            return 0;
        });
        return command;
    }
}
