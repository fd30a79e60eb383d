using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MobileNeXt.Inference;
using MobileNeXt.Interop;
using MobileNeXt.Models;
using MobileNeXt.Quantization;
using MobileNeXt.Training;
using static MobileNeXt.Cli.Format;

namespace MobileNeXt.Cli;

/// <summary>
/// <c>mobilenext quantize</c>: INT8 post-training quantization of trained weights — calibration on images of the
/// training split, a QDQ ONNX model that ONNX Runtime runs with integer kernels, and optionally its accuracy beside
/// the FP32 model's on the validation split.
/// </summary>
internal static class QuantizeCommand
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static Command Create()
    {
        var options = new ModelOptions();
        var weights = new Option<FileInfo>("--weights", "-w")
        {
            Description = "Trained weights: a 'mobilenext train' checkpoint (its width, α and input size become the defaults), a PyTorch state_dict or a TorchSharp .dat file.",
            HelpName = "file",
            Required = true,
        };
        var calibration = new Option<string>("--calibration")
        {
            Description = $"Calibration images: a folder with train/ (ImageNet layout; its train/ images are used), or one of: {TrainingData.Builtins}.",
            HelpName = "source",
            Required = true,
        };
        var method = new Option<CalibrationMethod>("--method") { Description = "How activation ranges are chosen: MinMax, Percentile or Entropy (KL, TensorRT's).", DefaultValueFactory = _ => CalibrationMethod.MinMax };
        var percentile = new Option<double>("--percentile") { Description = "The percentile kept by --method percentile.", DefaultValueFactory = _ => 99.999, HelpName = "p" };
        var images = new Option<int>("--images") { Description = "Calibration images (a seeded sample of the training split).", DefaultValueFactory = _ => 512, HelpName = "n" };
        var perTensor = new Option<bool>("--per-tensor") { Description = "One weight scale per tensor instead of per output channel (the ablation; loses accuracy on MobileNets)." };
        var reduceRange = new Option<bool>("--reduce-range") { Description = "7-bit weights, for x64 CPUs without VNNI." };
        var resize = new Option<int?>("--resize") { Description = "Side the shorter image side is resized to before the centre crop (default: the checkpoint's, else input size / 0.875).", HelpName = "n" };
        var onnx = new Option<FileInfo>("--onnx") { Description = "The INT8 .onnx file to write (atomically; its statistics go beside it as .calibration.json).", HelpName = "file", Required = true };
        var evaluate = new Option<bool>("--evaluate") { Description = "Then evaluate FP32 (TorchSharp) and INT8 (ONNX Runtime) on the validation split: top-1 of each, the drop and their agreement; written beside the model as .eval.json." };
        var command = new Command("quantize", "INT8 post-training quantization: calibrate on images, write a QDQ ONNX model that ONNX Runtime runs with integer kernels.");
        options.AddTo(command);
        foreach (var o in new Option[] { weights, calibration, method, percentile, images, perTensor, reduceRange, resize, onnx, evaluate }) command.Add(o);
        command.SetAction(result =>
        {
            TorchRuntime.EnsureAvailable();
            string name = options.ModelName(result);
            var trained = TrainedWeights.Inspect(result.GetValue(weights)!.FullName);
            string output = result.GetValue(onnx)!.FullName;
            if (!Directory.Exists(Path.GetDirectoryName(output)))
                throw new DirectoryNotFoundException($"Cannot write '{output}': the folder '{Path.GetDirectoryName(output)}' does not exist.");
            var quantization = new Int8Options
            {
                Method = result.GetValue(method),
                Percentile = result.GetValue(percentile),
                PerChannel = !result.GetValue(perTensor),
                ReduceRange = result.GetValue(reduceRange),
                CalibrationImages = result.GetValue(images),
            };
            quantization.Validate();

            // A training checkpoint says how its network was built and fed; command-line values still win.
            trained.CheckModel(name, asOption: false);
            double? width = ModelOptions.Given(result, options.Width) ? result.GetValue(options.Width) : trained.Width;
            double alpha = ModelOptions.Given(result, options.IdentityMultiplier) ? result.GetValue(options.IdentityMultiplier) : trained.IdentityMultiplier ?? 1.0;
            var preprocessing = options.Preprocessing(result, trained);
            if (result.GetValue(resize) is { } resized) preprocessing = new EvalPreprocessing(resized, preprocessing.CropSize);
            int crop = preprocessing.CropSize, side = preprocessing.ResizeSize;

            var data = TrainingData.Open(result.GetValue(calibration)!, syntheticImageSize: Math.Max(crop, 32));
            // Checks the set's size now, before any weights are read; the images are read by the calibrator.
            var batches = Evaluation.CalibrationBatches(data.Train, preprocessing, quantization.CalibrationImages);
            using var model = ModelRegistry.Create(name, new ModelCreateOptions { Width = width, IdentityMultiplier = alpha, NumClasses = data.Train.Classes.Count });
            ModelWeights.Load(model, trained.Path);
            model.eval();

            var clock = System.Diagnostics.Stopwatch.StartNew();
            var statistics = Int8Calibrator.Calibrate(model, batches, histograms: quantization.Method != CalibrationMethod.MinMax);
            Line($"Calibrated {name} on {statistics.Images} images of {data.Description} ({side} → {crop}², {statistics.Tensors.Count} values, {clock.Elapsed.TotalSeconds:0.0} s).");
            var report = Int8Exporter.Export(model, statistics, output, quantization, evalResize: side)!;
            Line($"INT8 ({quantization.Method}{(quantization.PerChannel ? ", per-channel" : ", per-tensor")} weights) → {output}, {Count(new FileInfo(output).Length)} bytes.");
            Line($"ONNX Runtime: {report.QLinearConvs} of {report.Convs} Convs run as QLinearConv; integer ops: " +
                 string.Join(", ", report.Operators.Where(kv => kv.Key.StartsWith('Q') && kv.Key != "QuantizeLinear" && kv.Key != "QLinearConv").Select(kv => $"{kv.Key} {kv.Value}")) +
                 $"; float ops left: {(report.FloatOperators.Count == 0 ? "none" : string.Join(", ", report.FloatOperators))}.");

            if (result.GetValue(evaluate))
            {
                var (fp32, labels) = Evaluation.Predict(model, data.Validation, preprocessing);
                using var int8Model = new OnnxRuntimeModel(output);
                var (int8, _) = Evaluation.Predict(int8Model, data.Validation, preprocessing, channelsLast: false);
                var comparison = new QuantizationEvaluation(name, quantization.Method.ToString(), quantization.PerChannel, statistics.Images, labels.Length,
                    Evaluation.PercentEqual(fp32, labels), Evaluation.PercentEqual(int8, labels), Evaluation.PercentEqual(fp32, int8));
                Line(string.Create(CultureInfo.InvariantCulture,
                    $"Validation ({comparison.Images} images): FP32 top-1 {comparison.Fp32Top1:0.00} %, INT8 {comparison.Int8Top1:0.00} % (drop {comparison.Fp32Top1 - comparison.Int8Top1:0.00}), agreement {comparison.Agreement:0.00} %."));
                AtomicFile.Write(Path.ChangeExtension(output, ".eval.json"), stream => JsonSerializer.Serialize(stream, comparison, Json));
            }
            return 0;
        });
        return command;
    }

    /// <summary>The FP32-vs-INT8 comparison on the validation split, as written to .eval.json.</summary>
    private sealed record QuantizationEvaluation(string Model, string Method, bool PerChannel, int CalibrationImages, int Images,
        double Fp32Top1, double Int8Top1, double Agreement);
}
