using System.CommandLine;
using System.Globalization;
using MobileNeXt.Inference;
using MobileNeXt.Interop;
using MobileNeXt.Models;
using MobileNeXt.Training;

namespace MobileNeXt.Cli;

/// <summary><c>mobilenext eval</c>: top-1/top-5 of trained weights on a validation set.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data", "-d") { Description = $"A folder with train/ and val/ (val/ is evaluated), or one of: {TrainingData.Builtins}.", Required = true, HelpName = "source" };
        var model = new Option<string>("--model", "-m") { Description = "Registry name, e.g. mobilenext_100.", Required = true, HelpName = "name" };
        var weights = new Option<string>("--weights", "-w") { Description = "A checkpoint (last.pth/best.pth), a PyTorch state_dict or a TorchSharp .dat file.", Required = true, HelpName = "file" };
        var ema = new Option<bool>("--ema") { Description = "Evaluate the checkpoint's EMA weights." };
        var width = new Option<double?>("--width") { Description = "Width multiplier overriding the name's.", HelpName = "w" };
        var alpha = new Option<double>("--identity-multiplier", "-a") { Description = "Identity tensor multiplier α.", DefaultValueFactory = _ => 1.0, HelpName = "alpha" };
        var inputSize = new Option<int>("--input-size") { Description = "Crop side; the shorter side is resized to size / 0.875 first.", DefaultValueFactory = _ => 224, HelpName = "n" };
        var batch = new Option<int>("--batch-size", "-b") { Description = "Images per batch.", DefaultValueFactory = _ => 64, HelpName = "n" };
        var workers = new Option<int>("--workers") { Description = "Decoding threads.", DefaultValueFactory = _ => 2, HelpName = "n" };
        var channelsLast = new Option<bool>("--channels-last") { Description = "Hand the model channels-last (NHWC-strided) batches, faster on CPU.", DefaultValueFactory = _ => true, HelpName = "true|false" };
        var command = new Command("eval", "Top-1 and top-5 accuracy of trained weights, with the evaluation preprocessing the trainer and predict use.")
        {
            data, model, weights, ema, width, alpha, inputSize, batch, workers, channelsLast,
        };
        command.SetAction(result =>
        {
            TorchRuntime.EnsureAvailable();
            var validation = TrainingData.Open(result.GetValue(data)!, syntheticImageSize: Math.Max(result.GetValue(inputSize), 32)).Validation;
            using var network = ModelRegistry.Create(result.GetValue(model)!, new ModelCreateOptions
            {
                Width = result.GetValue(width),
                IdentityMultiplier = result.GetValue(alpha),
                NumClasses = validation.Classes.Count,
            });
            ModelWeights.Load(network, result.GetValue(weights)!, result.GetValue(ema) ? CheckpointWeights.Ema : CheckpointWeights.Auto);
            int crop = result.GetValue(inputSize);
            var accuracy = Evaluation.Evaluate(network, validation, new EvalPreprocessing((int)Math.Round(crop / 0.875), crop),
                result.GetValue(batch), result.GetValue(workers), channelsLast: result.GetValue(channelsLast));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"top-1 {accuracy.Top1:0.00} %  top-5 {accuracy.Top5:0.00} %  ({accuracy.Samples} images)"));
            return 0;
        });
        return command;
    }
}
