using System.CommandLine;
using MobileNeXt.Export;
using MobileNeXt.Interop;
using static MobileNeXt.Cli.Format;

namespace MobileNeXt.Cli;

/// <summary><c>mobilenext export</c>: a registry model, optionally with trained weights, as an ONNX file for inference runtimes.</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var options = new ModelOptions();
        var onnx = new Option<FileInfo>("--onnx")
        {
            Description = "The .onnx file to write (its folder must exist; an existing file is replaced atomically).",
            HelpName = "file",
            Required = true,
        };
        var weights = new Option<FileInfo?>("--weights", "-w")
        {
            Description = "Weights to load first: a 'mobilenext train' checkpoint (its width, α, classes and input size become the defaults), a PyTorch state_dict (.pt/.pth), a training checkpoint (.pth.tar) or TorchSharp .dat. Default: fresh initialisation.",
            HelpName = "file",
        };
        var height = new Option<int?>("--input-height") { Description = "Input height when it differs from the width (overrides --input-size for the height).", HelpName = "n" };
        var width = new Option<int?>("--input-width") { Description = "Input width when it differs from the height (overrides --input-size for the width).", HelpName = "n" };
        var command = new Command("export", $"Export a model to ONNX (opset {OnnxExporter.Opset}, BatchNorm folded, dynamic batch) for ONNX Runtime and other inference engines.");
        options.AddTo(command);
        command.Add(onnx);
        command.Add(weights);
        command.Add(height);
        command.Add(width);
        command.SetAction(result =>
        {
            TorchRuntime.EnsureAvailable();
            string path = result.GetValue(onnx)!.FullName;
            var trained = result.GetValue(weights) is { } file ? TrainedWeights.Inspect(file.FullName) : null;
            trained?.CheckModel(options.ModelName(result), asOption: false);
            var exportOptions = new OnnxExportOptions
            {
                InputSize = options.InputSizeOf(result, trained),
                InputHeight = result.GetValue(height),
                InputWidth = result.GetValue(width),
            };
            exportOptions.Validate(); // before building the model and reading the weights
            using var model = options.Build(result, trained);
            // A missing or unwritable folder, weights that do not fit: Program prints the one-line message.
            if (trained is not null) ModelWeights.Load(model, trained.Path);
            OnnxExporter.Export(model, path, exportOptions);
            Line($"{options.Describe(result, exportOptions.Height == exportOptions.Width ? $"{exportOptions.Height}²" : $"{exportOptions.Height}×{exportOptions.Width}", trained)} → {path}");
            Line($"{Count(new FileInfo(path).Length)} bytes, ONNX opset {OnnxExporter.Opset} (IR {OnnxExporter.IrVersion}), " +
                 $"input '{OnnxExporter.InputName}' {OnnxExporter.BatchDimension}×{model.InChannels}×{exportOptions.Height}×{exportOptions.Width}, output '{OnnxExporter.OutputName}' {OnnxExporter.BatchDimension}×{(model.NumClasses > 0 ? model.NumClasses : model.NumFeatures)}.");
            return 0;
        });
        return command;
    }
}
