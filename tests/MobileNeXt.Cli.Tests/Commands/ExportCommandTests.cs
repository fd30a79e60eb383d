using MobileNeXt.Interop;
using MobileNeXt.Models;
using MobileNeXt.Tests.Shared;

namespace MobileNeXt.Cli.Tests.Commands;

/// <summary><c>mobilenext export</c>: ONNX files that ONNX Runtime loads with the asked-for input, and bad inputs.</summary>
[Collection(TrainedRunCollection.Name)]
public class ExportCommandTests(TrainedRun run)
{
    // The Core exporter tests' bound between ONNX Runtime's and TorchSharp's logits (issue 4).
    private const float Tolerance = 1e-4f;

    [Fact]
    public void Should_export_a_training_checkpoint_at_its_input_size_and_classes_with_TorchSharps_logits()
    {
        string onnx = run.Scratch("trained.onnx");

        var result = Cli.Run("export", TrainedRun.Model, "-w", run.LastCheckpoint, "--onnx", onnx).ShouldSucceed();

        result.Lines[0].Should().Be($"{TrainedRun.Model} (10 classes, 32² input) → {onnx}");
        result.Lines[1].Should().EndWith("input 'input' batch×3×32×32, output 'logits' batch×10.");
        var (input, output) = OnnxFile.Shapes(onnx);
        input.Should().Equal(-1, 3, 32, 32);
        output.Should().Equal(-1, 10);
        var (ort, torch) = OnnxFile.Logits(onnx, TrainedRun.Model, run.LastCheckpoint, new ModelCreateOptions { NumClasses = 10 }, 32, 32);
        ort.Should().Equal(torch, (a, b) => Math.Abs(a - b) <= Tolerance);
    }

    [Fact]
    public void Should_export_a_fractional_identity_multiplier_and_a_non_square_input()
    {
        string onnx = run.Scratch("half-alpha-32x48.onnx");

        var result = Cli.Run("export", TrainedRun.Model, "-w", run.LastCheckpoint, "-a", "1/2", "--input-height", "32", "--input-width", "48", "--onnx", onnx)
            .ShouldSucceed();

        result.Lines[0].Should().Be($"{TrainedRun.Model} (α 0.5, 10 classes, 32×48 input) → {onnx}");
        OnnxFile.Shapes(onnx).Input.Should().Equal(-1, 3, 32, 48);
        // The file is the α = 1/2 network (Sec. 3.3): its logits are TorchSharp's α = 0.5 model's and not the α = 1 one's.
        var (ort, half) = OnnxFile.Logits(onnx, TrainedRun.Model, run.LastCheckpoint, new ModelCreateOptions { NumClasses = 10, IdentityMultiplier = 0.5 }, 32, 48);
        ort.Should().Equal(half, (a, b) => Math.Abs(a - b) <= Tolerance);
        var (_, full) = OnnxFile.Logits(onnx, TrainedRun.Model, run.LastCheckpoint, new ModelCreateOptions { NumClasses = 10 }, 32, 48);
        ort.Zip(full).Max(p => Math.Abs(p.First - p.Second)).Should().BeGreaterThan(100 * Tolerance);
    }

    [Fact]
    public void Should_exit_1_naming_the_missing_folder()
    {
        string onnx = run.Scratch(Path.Combine("no-such-folder", "model.onnx"));
        Cli.Run("export", TrainedRun.Model, "--input-size", "32", "--onnx", onnx)
            .ShouldFailWith(1, $"Cannot write '{onnx}': the folder '{Path.GetDirectoryName(onnx)}' does not exist.");
    }

    [Fact]
    public void Should_exit_1_asking_for_another_folder_when_the_folder_cannot_be_written()
    {
        Cli.Run("export", TrainedRun.Model, "--input-size", "32", "--onnx", "/sys/model.onnx")
            .ShouldFailWith(1, "Cannot write '/sys/model.onnx': *Choose a folder you can write to.");
    }

    [Fact]
    public void Should_exit_1_when_the_output_is_a_folder()
    {
        string folder = run.Scratch("a-folder.onnx");
        Directory.CreateDirectory(folder);
        Cli.Run("export", TrainedRun.Model, "--input-size", "32", "--onnx", folder)
            .ShouldFailWith(1, $"Cannot write '{folder}': it is a folder*");
    }

    [Fact]
    public void Should_exit_1_naming_a_missing_weights_file()
    {
        string missing = run.Scratch("no-such-weights.pth");
        Cli.Run("export", TrainedRun.Model, "-w", missing, "--onnx", run.Scratch("x.onnx"))
            .ShouldFailWith(1, $"The weights file '{missing}' does not exist.");
    }

    [Fact]
    public void Should_exit_1_naming_the_model_a_checkpoint_of_another_model_holds()
    {
        Cli.Run("export", "mobilenext_050", "-w", run.LastCheckpoint, "--onnx", run.Scratch("x.onnx"))
            .ShouldFailWith(1, $"'{run.LastCheckpoint}' holds weights of {TrainedRun.Model}, not mobilenext_050; give {TrainedRun.Model} instead.");
    }

    [Fact]
    public void Should_exit_1_listing_the_mismatched_tensors_when_a_state_dict_is_of_another_width()
    {
        using var folder = new TempFolder();
        string stateDict = folder.Combine("mobilenext_050.pth");
        using (var other = ModelRegistry.Create("mobilenext_050", new ModelCreateOptions { NumClasses = 10 }))
            ModelWeights.SavePyTorch(other, stateDict);

        var result = Cli.Run("export", TrainedRun.Model, "--classes", "10", "-w", stateDict, "--onnx", folder.Combine("x.onnx"));

        result.ShouldFailWith(1, $"The weights in '{stateDict}' do not fit this model; nothing was loaded.");
        result.Stderr.Should().Contain("different shape").And.Contain("Check that the model's name, width, class count and variant match");
    }

    [Fact]
    public void Should_exit_1_naming_the_flag_when_the_input_is_smaller_than_the_network_takes()
    {
        Cli.Run("export", TrainedRun.Model, "--input-height", "8", "--input-width", "48", "--onnx", run.Scratch("x.onnx"))
            .ShouldFailWith(1, "--input-height must be at least 32 (the network downsamples by 32); got 8.");
    }
}
