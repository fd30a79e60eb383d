using System.Globalization;

namespace MobileNeXt.Cli.Tests.Commands;

/// <summary><c>mobilenext eval</c>: trained weights on a validation split, and bad inputs.</summary>
[Collection(TrainedRunCollection.Name)]
public class EvalCommandTests(TrainedRun run)
{
    [Fact]
    public void Should_measure_the_checkpoint_as_the_trainer_did_after_its_last_epoch()
    {
        // No --input-size: the checkpoint's 32² (and its resize) are the defaults, so this is the trainer's own evaluation.
        var result = Cli.Run("eval", "-d", "synthetic", "-m", TrainedRun.Model, "-w", run.LastCheckpoint).ShouldSucceed();

        var (top1, top5) = run.FinalAccuracy;
        result.Lines.Should().Equal(string.Create(CultureInfo.InvariantCulture,
            $"top-1 {top1:0.00} %  top-5 {top5:0.00} %  ({TrainedRun.ValidationImages} images)"));
    }

    [Fact]
    public void Should_exit_2_asking_for_weights_or_an_onnx_model_when_given_neither()
    {
        Cli.Run("eval", "-d", "synthetic")
            .ShouldFailWith(2, "Give --model and --weights (trained weights), or --onnx (an exported or quantized model). Run 'mobilenext eval --help' for usage.");
    }

    [Fact]
    public void Should_exit_2_when_given_both_weights_and_an_onnx_model()
    {
        Cli.Run("eval", "-d", "synthetic", "-m", TrainedRun.Model, "-w", run.LastCheckpoint, "--onnx", run.Scratch("x.onnx"))
            .ShouldFailWith(2, "Give either --onnx or --model with --weights, not both.*");
    }

    [Fact]
    public void Should_exit_2_naming_the_runtimes_for_an_unknown_one()
    {
        Cli.Run("eval", "-d", "synthetic", "--onnx", run.Scratch("x.onnx"), "--runtime", "tensorrt").ShouldFailWith(2, "Argument 'tensorrt' not recognized. Must be one of: 'ort' 'torchsharp' Run 'mobilenext eval --help' for usage.");
    }

    [Fact]
    public void Should_exit_1_naming_a_missing_onnx_file()
    {
        string missing = run.Scratch("no-such-model.onnx");
        Cli.Run("eval", "-d", "synthetic", "--onnx", missing).ShouldFailWith(1, $"The ONNX model '{missing}' does not exist.");
    }

    [Fact]
    public void Should_exit_1_naming_a_missing_weights_file()
    {
        string missing = run.Scratch("no-such-weights.pth");
        Cli.Run("eval", "-d", "synthetic", "-m", TrainedRun.Model, "-w", missing).ShouldFailWith(1, $"The weights file '{missing}' does not exist.");
    }

    [Fact]
    public void Should_exit_1_naming_the_model_a_checkpoint_of_another_model_holds()
    {
        Cli.Run("eval", "-d", "synthetic", "-m", "mobilenetv2_035", "-w", run.LastCheckpoint)
            .ShouldFailWith(1, $"'{run.LastCheckpoint}' holds weights of {TrainedRun.Model}, not mobilenetv2_035; give --model {TrainedRun.Model} instead.");
    }

    [Fact]
    public void Should_exit_1_naming_a_missing_dataset_folder()
    {
        string missing = run.Scratch("no-such-data");
        Cli.Run("eval", "-d", missing, "-m", TrainedRun.Model, "-w", run.LastCheckpoint)
            .ShouldFailWith(1, $"Dataset folder '{missing}' does not exist. Pass a folder holding train/ and val/ (ImageNet layout), or one of: fashion-mnist, synthetic.");
    }

    [Fact]
    public void Should_exit_1_describing_the_layout_when_the_dataset_folder_has_no_train_and_val()
    {
        string empty = run.Scratch("empty-data");
        Directory.CreateDirectory(empty);
        Cli.Run("eval", "-d", empty, "-m", TrainedRun.Model, "-w", run.LastCheckpoint)
            .ShouldFailWith(1, $"Dataset folder '{empty}' must hold train/ and val/ sub-folders, each with one folder per class (ImageNet layout: train/<class>/<image>).");
    }

    [Fact]
    public void Should_exit_1_when_an_onnx_model_takes_non_square_inputs()
    {
        string onnx = run.Scratch("wide.onnx");
        Cli.Run("export", TrainedRun.Model, "--input-height", "32", "--input-width", "64", "--onnx", onnx).ShouldSucceed();

        Cli.Run("eval", "-d", "synthetic", "--onnx", onnx)
            .ShouldFailWith(1, $"'{onnx}' takes 32×64 inputs; eval crops squares. Export it with one --input-size.");
    }
}
