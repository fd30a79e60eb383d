using System.CommandLine;
using System.Globalization;
using MobileNeXt.Detection.Training;
using MobileNeXt.Inference;
using MobileNeXt.Interop;
using MobileNeXt.Models;
using MobileNeXt.Quantization;
using MobileNeXt.Search.Evaluation;
using MobileNeXt.Search.Network;
using MobileNeXt.Training.Checkpoints;
using MobileNeXt.Training;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Cli;

/// <summary><c>mobilenext eval</c>: top-1/top-5 of trained weights on a validation set; the AP table of a detector checkpoint; or a searched cell's test accuracy.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var detector = new Argument<string?>("checkpoint") { Description = "A checkpoint of 'mobilenext train --task detection' (prints its AP per class and the mAPs on its data's validation split, or --data's) or of 'train --genotype' (top-1/top-5 of the searched cell's network on its data's test split, or --data's).", Arity = ArgumentArity.ZeroOrOne };
        var data = new Option<string>("--data", "-d") { Description = $"A folder with train/ and val/ (val/ is evaluated), or one of: {TrainingData.Builtins}. For a detector: {DetectionData.Forms}; for a searched cell: {SearchSources.Names} (default: the data it was trained on).", HelpName = "source" };
        var model = new Option<string>("--model", "-m") { Description = "Registry name, e.g. mobilenext_100 (with --weights).", HelpName = "name" };
        var weights = new Option<string>("--weights", "-w") { Description = "A checkpoint (last.pth/best.pth), a PyTorch state_dict or a TorchSharp .dat file (with --model).", HelpName = "file" };
        var onnx = new Option<FileInfo>("--onnx") { Description = "Evaluate an ONNX model instead (FP32 from 'export' or INT8 from 'quantize'); its input size is the crop.", HelpName = "file" };
        var runtime = new Option<string>("--runtime") { Description = "For --onnx: ort (ONNX Runtime, integer kernels for INT8) or torchsharp (the same graph in TorchSharp: simulated quantization).", DefaultValueFactory = _ => "ort", HelpName = "ort|torchsharp" };
        runtime.AcceptOnlyFromAmong("ort", "torchsharp");
        var ema = new Option<bool>("--ema") { Description = "Evaluate the checkpoint's EMA weights." };
        var width = new Option<double?>("--width") { Description = "Width multiplier overriding the name's.", HelpName = "w" };
        var alpha = new Option<double>("--identity-multiplier", "-a") { Description = "Identity tensor multiplier α.", DefaultValueFactory = _ => 1.0, HelpName = "alpha" };
        var inputSize = new Option<int>("--input-size") { Description = "Crop side (default: a training checkpoint's; with --onnx: the model's input size).", DefaultValueFactory = _ => 224, HelpName = "n" };
        var resize = new Option<int?>("--resize") { Description = "Side the shorter image side is resized to before the centre crop (default: crop / 0.875; with --onnx the size the model was calibrated at, when it says).", HelpName = "n" };
        var batch = new Option<int>("--batch-size", "-b") { Description = "Images per batch.", DefaultValueFactory = _ => 64, HelpName = "n" };
        var workers = new Option<int>("--workers") { Description = "Decoding threads.", DefaultValueFactory = _ => 2, HelpName = "n" };
        var channelsLast = new Option<bool>("--channels-last") { Description = "Hand the model channels-last (NHWC-strided) batches, faster on CPU.", DefaultValueFactory = _ => true, HelpName = "true|false" };
        var command = new Command("eval", "Top-1 and top-5 accuracy of trained weights or of an ONNX model (FP32 or INT8), with the evaluation preprocessing the trainer and predict use; or, given a detector checkpoint, its AP table (VOC07 11-point, all-point, COCO).")
        {
            detector, data, model, weights, onnx, runtime, ema, width, alpha, inputSize, resize, batch, workers, channelsLast,
        };
        command.Validators.Add(result =>
        {
            bool hasOnnx = result.GetResult(onnx) is not null, hasModel = result.GetResult(model) is not null, hasWeights = result.GetResult(weights) is not null;
            if (result.GetValue(detector) is not null)
            {
                if (hasOnnx || hasModel || hasWeights) result.AddError("A detector or searched-cell checkpoint names its own network: give it without --onnx, --model or --weights.");
                return;
            }
            if (result.GetResult(data) is null) result.AddError("Option '--data' is required.");
            else if (hasOnnx && (hasModel || hasWeights)) result.AddError("Give either --onnx or --model with --weights, not both.");
            else if (!hasOnnx && !(hasModel && hasWeights)) result.AddError("Give --model and --weights (trained weights), or --onnx (an exported or quantized model).");
        });
        command.SetAction(result =>
        {
            TorchRuntime.EnsureAvailable();
            string? checkpoint = result.GetValue(detector);
            if (checkpoint is not null && IsCellCheckpoint(checkpoint))
                return EvaluateCell(checkpoint, result.GetValue(data), result.GetValue(ema), ModelOptions.Given(result, batch) ? result.GetValue(batch) : null,
                    result.GetValue(workers), ModelOptions.Given(result, channelsLast) ? result.GetValue(channelsLast) : null);
            if (checkpoint is not null)
                return EvaluateDetector(checkpoint, result.GetValue(data), result.GetValue(ema), ModelOptions.Given(result, batch) ? result.GetValue(batch) : null);
            if (result.GetValue(onnx) is { } file)
            {
                if (!file.Exists) throw new FileNotFoundException($"The ONNX model '{file.FullName}' does not exist.", file.FullName);
                using nn.Module<Tensor, Tensor> network = result.GetValue(runtime) == "ort" ? new OnnxRuntimeModel(file.FullName) : new OnnxTorchModel(file.FullName);
                using var probe = new OnnxRuntimeModel(file.FullName, threads: 1, Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_DISABLE_ALL);
                if (probe.Height != probe.Width || probe.Height <= 0)
                    throw new ArgumentException($"'{file.FullName}' takes {probe.Height}×{probe.Width} inputs; eval crops squares. Export it with one --input-size.");
                int side = probe.Height;
                int resized = result.GetValue(resize)
                    ?? (probe.Metadata.TryGetValue(Int8Exporter.EvalResizeKey, out var r) ? int.Parse(r, CultureInfo.InvariantCulture) : (int)Math.Round(side / 0.875));
                var set = TrainingData.Open(result.GetValue(data)!, syntheticImageSize: Math.Max(side, 32)).Validation;
                var scores = Evaluation.Evaluate(network, set, new EvalPreprocessing(resized, side), result.GetValue(batch), result.GetValue(workers), channelsLast: false);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"top-1 {scores.Top1:0.00} %  top-5 {scores.Top5:0.00} %  ({scores.Samples} images, {resized} → {side}², {(result.GetValue(runtime) == "ort" ? "ONNX Runtime" : "TorchSharp")})"));
                return 0;
            }
            // A training checkpoint says how its network was built and fed; command-line values still win.
            var trained = TrainedWeights.Inspect(result.GetValue(weights)!);
            trained.CheckModel(result.GetValue(model)!, asOption: true);
            bool sizeGiven = ModelOptions.Given(result, inputSize);
            int crop = !sizeGiven && trained.InputSize is { } trainedSize ? trainedSize : result.GetValue(inputSize);
            int resizeTo = result.GetValue(resize) ?? (!sizeGiven && trained.EvalResize is { } trainedResize ? trainedResize : (int)Math.Round(crop / 0.875));
            var validation = TrainingData.Open(result.GetValue(data)!, syntheticImageSize: Math.Max(crop, 32)).Validation;
            using var network2 = ModelRegistry.Create(result.GetValue(model)!, new ModelCreateOptions
            {
                Width = ModelOptions.Given(result, width) ? result.GetValue(width) : trained.Width,
                IdentityMultiplier = !ModelOptions.Given(result, alpha) && trained.IdentityMultiplier is { } a ? a : result.GetValue(alpha),
                NumClasses = validation.Classes.Count,
            });
            ModelWeights.Load(network2, trained.Path, result.GetValue(ema) ? CheckpointWeights.Ema : CheckpointWeights.Auto);
            var accuracy = Evaluation.Evaluate(network2, validation, new EvalPreprocessing(resizeTo, crop),
                result.GetValue(batch), result.GetValue(workers), channelsLast: result.GetValue(channelsLast));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"top-1 {accuracy.Top1:0.00} %  top-5 {accuracy.Top5:0.00} %  ({accuracy.Samples} images)"));
            return 0;
        });
        return command;
    }

    private static bool IsCellCheckpoint(string path)
    {
        if (!File.Exists(path)) return false; // the detector path reports the missing file
        try
        {
            using var checkpoint = TrainingCheckpoint.Read(path);
            return checkpoint.Task == DartsEvalTask.TaskName;
        }
        catch (InvalidDataException)
        {
            return false; // not a training checkpoint: the detector path says what it is not
        }
    }

    /// <summary>Top-1/top-5 of a 'train --genotype' checkpoint's network on its data's test split unless <paramref name="source"/> names other data.</summary>
    private static int EvaluateCell(string path, string? source, bool ema, int? batchSize, int workers, bool? channelsLast)
    {
        using var checkpoint = TrainingCheckpoint.Read(path);
        var settings = DartsEvalSettings.FromJson(checkpoint.TaskSettings
            ?? throw new InvalidDataException($"'{path}' is a searched cell's checkpoint without its cell (task_settings); it is damaged."));
        source ??= checkpoint.DataSource ?? throw new ArgumentException($"'{path}' does not name the data it was trained on; pass it with --data <{SearchSources.Names.Replace(", ", "|", StringComparison.Ordinal)}>.");
        var (_, test, normalization) = SearchSources.Open(source);
        if (!test.Classes.SequenceEqual(checkpoint.Classes, StringComparer.Ordinal))
            throw new InvalidDataException($"'{path}' classifies {checkpoint.Classes.Count} classes ({string.Join(", ", checkpoint.Classes.Take(3))}, …), but '{source}' has {test.Classes.Count} ({string.Join(", ", test.Classes.Take(3))}, …); evaluate it on data with its classes.");
        using var network = new EvalNetwork(new EvalNetworkOptions { Genotype = settings.Genotype, Channels = settings.Channels, Layers = settings.Layers, Classes = test.Classes.Count });
        var state = ema ? checkpoint.EmaState ?? throw new ArgumentException($"'{path}' holds no EMA weights; drop --ema.") : checkpoint.ModelState;
        ModelWeights.Load(network, state, path);
        var (top1, top5, images) = DartsEvalTask.Test(network, test, normalization, batchSize ?? checkpoint.Options.BatchSize, workers, channelsLast ?? checkpoint.Options.ChannelsLast);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{settings.ModelName} ({settings.Layers} cells of {settings.Channels} channels, {network.ReportedParameterCount() / 1e6:0.000} M parameters; {Path.GetFileName(path)}, epoch {checkpoint.Epoch}) on {source}:"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"top-1 {top1:0.00} %  top-5 {top5:0.00} %  error {100 - top1:0.00} %  ({images} images)"));
        return 0;
    }

    /// <summary>The AP of every class and the three mAPs of a detection checkpoint, on its data's validation split unless <paramref name="source"/> names other data.</summary>
    private static int EvaluateDetector(string path, string? source, bool ema, int? batchSize)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"The checkpoint '{path}' does not exist.", path);
        using var trained = TrainedDetector.Load(path, ema);
        source ??= trained.DataSource ?? throw new ArgumentException($"'{path}' does not name the data it was trained on; pass it with --data <{DetectionData.Forms.Replace(", ", "|", StringComparison.Ordinal)}>.");
        var validation = DetectionData.Open(source, sceneSize: trained.Detector.Options.ImageSize).Validation;
        if (!validation.Classes.SequenceEqual(trained.Classes, StringComparer.Ordinal))
            throw new InvalidDataException($"'{path}' detects {trained.Classes.Count} classes ({string.Join(", ", trained.Classes.Take(3))}, …), but '{source}' has {validation.Classes.Count} ({string.Join(", ", validation.Classes.Take(3))}, …); evaluate it on data with its classes.");
        var r = DetectionEvaluation.Evaluate(trained.Detector, validation, batchSize ?? trained.Options.BatchSize);
        var table = new Table().Title(Markup.Escape($"{trained.Options.Model} ({Path.GetFileName(path)}, epoch {trained.Epoch}) on {source}: {r.Images} images"))
            .AddColumns("class", "AP VOC07", "AP all-point", "AP@[[.5:.95]]"); // [[ ]] is Spectre markup's escape of [ ]
        static string Percent(double v) => double.IsNaN(v) ? "–" : (100 * v).ToString("0.00", CultureInfo.InvariantCulture);
        for (int c = 0; c < trained.Classes.Count; c++)
            table.AddRow(Markup.Escape(trained.Classes[c]), Percent(r.Voc07.PerClass[c]), Percent(r.VocAllPoint.PerClass[c]), Percent(r.Coco.PerClass[c]));
        table.AddRow("[bold]mean[/]", Percent(r.Voc07.Mean), Percent(r.VocAllPoint.Mean), Percent(r.Coco.MeanAp));
        AnsiConsole.Write(table);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"mAP@0.5 {100 * r.Voc07.Mean:0.00} % (VOC07 11-point)  {100 * r.VocAllPoint.Mean:0.00} % (all-point)  mAP@[.5:.95] {100 * r.Coco.MeanAp:0.00} % (COCO)  ({r.Images} images)"));
        return 0;
    }
}
