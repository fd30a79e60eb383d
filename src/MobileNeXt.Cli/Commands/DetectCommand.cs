using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MobileNeXt.Detection;
using MobileNeXt.Detection.Boxes;
using MobileNeXt.Detection.Data;
using MobileNeXt.Detection.Inference;
using MobileNeXt.Detection.Training;
using MobileNeXt.Inference;
using MobileNeXt.Interop;
using SkiaSharp;
using Spectre.Console;

namespace MobileNeXt.Cli;

/// <summary><c>mobilenext detect</c>: objects in images with a trained SSDLite320, as a table, JSON and annotated PNGs.</summary>
internal static class DetectCommand
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static Command Create()
    {
        var images = new Argument<FileInfo[]>("images") { Description = "JPEG or PNG files.", Arity = ArgumentArity.OneOrMore };
        var weights = new Option<FileInfo>("--weights", "-w") { Description = "The detector's weights: a checkpoint of 'mobilenext train --task detection' (it names its backbone, width, input size and classes), the released SSDLite checkpoint or state_dict (PyTorch), or a TorchSharp .dat file.", Required = true, HelpName = "file" };
        var backbone = new Option<string>("--backbone") { Description = "mobilenext (the paper's detector) or mobilenetv2 (Table 8's baseline); a training checkpoint names its own.", DefaultValueFactory = _ => "mobilenext", HelpName = "name" };
        backbone.AcceptOnlyFromAmong("mobilenext", "mobilenetv2");
        var width = new Option<double>("--width") { Description = "The backbone's width multiplier.", DefaultValueFactory = _ => 1.0, HelpName = "w" };
        var labels = new Option<string>("--labels") { Description = "Class names: 'voc' (the 20 Pascal VOC classes), 'fashion' (the 10 Fashion-MNIST classes of the built-in scenes) or a text file with one name per line; a training checkpoint names its own.", DefaultValueFactory = _ => "voc", HelpName = "voc|fashion|file" };
        var score = new Option<double>("--score") { Description = "Show detections scoring at least this.", DefaultValueFactory = _ => 0.3, HelpName = "p" };
        var output = new Option<DirectoryInfo?>("--out", "-o") { Description = "Write <image>.png with the boxes drawn and detections.json into this folder (created if missing).", HelpName = "dir" };
        var command = new Command("detect", "Find objects in images with a trained SSDLite320 (MobileNeXt or MobileNetV2 backbone); boxes in the image's pixels.")
        {
            images, weights, backbone, width, labels, score, output,
        };
        command.SetAction(result =>
        {
            TorchRuntime.EnsureAvailable();
            string weightsPath = result.GetValue(weights)!.FullName;
            using var trained = TrainedDetector.IsDetectionCheckpoint(weightsPath) ? TrainedDetector.Load(weightsPath) : null;
            var names = trained is not null && !ModelOptions.Given(result, labels) ? trained.Classes : result.GetValue(labels) switch
            {
                "voc" => VocDataset.VocClasses,
                "fashion" => Training.Data.FashionMnistDataset.ClassNames,
                var file => ImagePredictor.LoadLabels(file!),
            };
            var options = new SsdLiteOptions { NumClasses = names.Count + 1 };
            using var built = trained is not null ? null : result.GetValue(backbone) == "mobilenext"
                ? SsdLite.CreateMobileNeXt(options, result.GetValue(width))
                : SsdLite.CreateMobileNetV2(options, result.GetValue(width));
            if (built is not null) ModelWeights.Load(built, weightsPath);
            var model = trained?.Detector ?? built!;
            var post = new PostProcessingOptions { ScoreThreshold = result.GetValue(score) };
            using var detector = new ObjectDetector(model, names, post);
            var outDir = result.GetValue(output);
            if (outDir is not null) Directory.CreateDirectory(outDir.FullName);
            var all = new List<object>();
            foreach (var file in result.GetValue(images)!)
            {
                if (!file.Exists) throw new FileNotFoundException($"The image '{file.FullName}' does not exist.", file.FullName);
                using var bitmap = ImageDecoding.DecodeRgb(file.FullName);
                var found = detector.Detect(bitmap);
                var table = new Table().Title(Markup.Escape($"{file.Name} ({bitmap.Width}×{bitmap.Height}): {found.Count} objects"))
                    .AddColumns("class", "score", "x1", "y1", "x2", "y2");
                foreach (var d in found)
                    table.AddRow(Markup.Escape(d.Name ?? d.Class.ToString(CultureInfo.InvariantCulture)), F(d.Score, "0.000"), F(d.X1), F(d.Y1), F(d.X2), F(d.Y2));
                AnsiConsole.Write(table);
                all.Add(new { file = file.FullName, width = bitmap.Width, height = bitmap.Height, detections = found.Select(d => new { @class = d.Class, name = d.Name, score = d.Score, box = new[] { d.X1, d.Y1, d.X2, d.Y2 } }) });
                if (outDir is not null)
                {
                    using var drawn = ObjectDetector.Annotate(bitmap, found);
                    using var png = drawn.Encode(SKEncodedImageFormat.Png, 100);
                    string path = Path.Combine(outDir.FullName, Path.GetFileNameWithoutExtension(file.Name) + ".png");
                    AtomicFile.Write(path, stream => png.SaveTo(stream));
                }
            }
            if (outDir is not null)
            {
                AtomicFile.Write(Path.Combine(outDir.FullName, "detections.json"), stream => JsonSerializer.Serialize(stream, all, Json));
                Console.WriteLine($"Annotated images and detections.json are in '{outDir.FullName}'.");
            }
            return 0;
        });
        return command;
    }

    private static string F(float value, string format = "0.0") => value.ToString(format, CultureInfo.InvariantCulture);
}
