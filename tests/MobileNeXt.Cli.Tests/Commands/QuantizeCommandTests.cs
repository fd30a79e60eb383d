using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace MobileNeXt.Cli.Tests.Commands;

/// <summary><c>mobilenext quantize</c>: INT8 post-training quantization of the trained checkpoint, and <c>eval --onnx</c> of the result.</summary>
[Collection(TrainedRunCollection.Name)]
public class QuantizeCommandTests(TrainedRun run)
{
    [Fact]
    public void Should_calibrate_at_the_checkpoints_size_fuse_every_conv_and_report_FP32_as_the_trainer_measured_it()
    {
        var result = run.Quantized.ShouldSucceed();

        result.Lines.Should().HaveCount(4);
        // The checkpoint's 32² crop of a 37² resize (32 / 0.875 = 36.6), on 64 of the synthetic training images.
        result.Lines[0].Should().Match($"Calibrated {TrainedRun.Model} on 64 images of synthetic shapes (37 → 32², * values, * s).");
        result.Lines[1].Should().Match($"INT8 (MinMax, per-channel weights) → {run.Int8Model}, * bytes.");
        var fused = Regex.Match(result.Lines[2], @"^ONNX Runtime: (\d+) of (\d+) Convs run as QLinearConv; .*; float ops left: none\.$");
        fused.Success.Should().BeTrue(result.Lines[2]);
        fused.Groups[1].Value.Should().Be(fused.Groups[2].Value, "ONNX Runtime runs every Conv with integer kernels");
        string fp32 = run.FinalAccuracy.Top1.ToString("0.00", CultureInfo.InvariantCulture);
        // The trainer evaluated the same 400 validation images with the same preprocessing after its last epoch.
        result.Lines[3].Should().Match($"Validation ({TrainedRun.ValidationImages} images): FP32 top-1 {fp32} %, INT8 * % (drop *), agreement * %.");
        File.Exists(Path.ChangeExtension(run.Int8Model, ".calibration.json")).Should().BeTrue();
    }

    [Fact]
    public void Should_give_eval_onnx_the_INT8_top_1_quantize_measured_in_ONNX_Runtime()
    {
        double int8 = Int8Top1();

        var result = Cli.Run("eval", "--onnx", run.Int8Model, "-d", "synthetic").ShouldSucceed();

        // The resize the model was calibrated with travels in its metadata: 37 → 32², as quantize used.
        result.Lines.Should().ContainSingle().Which.Should().Match(string.Create(CultureInfo.InvariantCulture,
            $"top-1 {int8:0.00} %  top-5 * %  ({TrainedRun.ValidationImages} images, 37 → 32², ONNX Runtime)"));
    }

    [Fact]
    public void Should_give_about_the_same_top_1_in_the_TorchSharp_simulation()
    {
        double int8 = Int8Top1();

        var result = Cli.Run("eval", "--onnx", run.Int8Model, "-d", "synthetic", "--runtime", "torchsharp").ShouldSucceed();

        var top1 = Regex.Match(result.Stdout, @"^top-1 ([\d.]+) %  top-5 [\d.]+ %  \(400 images, 37 → 32², TorchSharp\)");
        top1.Success.Should().BeTrue(result.Stdout);
        // Int8AccuracyTests: the simulation agrees with ONNX Runtime on ≥ 99.5 % of images, so on 400 at most 2 differ.
        double.Parse(top1.Groups[1].Value, CultureInfo.InvariantCulture).Should().BeApproximately(int8, 2 * 100.0 / TrainedRun.ValidationImages);
    }

    [Fact]
    public void Should_exit_1_naming_the_model_a_checkpoint_of_another_model_holds()
    {
        Cli.Run("quantize", "mobilenext_100", "--weights", run.LastCheckpoint, "--calibration", "synthetic", "--onnx", run.Scratch("x.onnx"))
            .ShouldFailWith(1, $"'{run.LastCheckpoint}' holds weights of {TrainedRun.Model}, not mobilenext_100; give {TrainedRun.Model} instead.");
    }

    [Fact]
    public void Should_exit_1_naming_the_missing_output_folder()
    {
        string onnx = run.Scratch(Path.Combine("no-such-folder", "int8.onnx"));
        Cli.Run("quantize", TrainedRun.Model, "--weights", run.LastCheckpoint, "--calibration", "synthetic", "--onnx", onnx)
            .ShouldFailWith(1, $"Cannot write '{onnx}': the folder '{Path.GetDirectoryName(onnx)}' does not exist.");
    }

    [Fact]
    public void Should_exit_1_naming_a_missing_weights_file()
    {
        string missing = run.Scratch("no-such-weights.pth");
        Cli.Run("quantize", TrainedRun.Model, "--weights", missing, "--calibration", "synthetic", "--onnx", run.Scratch("x.onnx"))
            .ShouldFailWith(1, $"The weights file '{missing}' does not exist.");
    }

    [Fact]
    public void Should_exit_1_naming_a_missing_calibration_folder()
    {
        string missing = run.Scratch("no-such-data");
        Cli.Run("quantize", TrainedRun.Model, "--weights", run.LastCheckpoint, "--calibration", missing, "--onnx", run.Scratch("x.onnx"))
            .ShouldFailWith(1, $"Dataset folder '{missing}' does not exist.*");
    }

    [Fact]
    public void Should_exit_1_naming_the_flag_when_no_calibration_images_are_asked_for()
    {
        Cli.Run("quantize", TrainedRun.Model, "--weights", run.LastCheckpoint, "--calibration", "synthetic", "--onnx", run.Scratch("x.onnx"), "--images", "0")
            .ShouldFailWith(1, "--images must be at least 1.");
    }

    [Fact]
    public void Should_exit_2_naming_the_methods_for_an_unknown_one()
    {
        Cli.Run("quantize", TrainedRun.Model, "--weights", run.LastCheckpoint, "--calibration", "synthetic", "--onnx", run.Scratch("x.onnx"), "--method", "median")
            .ShouldFailWith(2, "*'median'*");
    }

    /// <summary>The INT8 top-1 (ONNX Runtime) that quantize --evaluate wrote beside the model.</summary>
    private double Int8Top1()
    {
        run.Quantized.ShouldSucceed();
        using var json = JsonDocument.Parse(File.ReadAllText(Path.ChangeExtension(run.Int8Model, ".eval.json")));
        return json.RootElement.GetProperty("Int8Top1").GetDouble();
    }
}
