using MobileNeXt.Tests.Shared;
using MobileNeXt.Training.Checkpoints;

namespace MobileNeXt.Cli.Tests.Commands;

/// <summary><c>mobilenext train</c>: a preset with overrides, its files, Ctrl+C, and bad inputs.</summary>
[Collection(TrainedRunCollection.Name)]
public class TrainCommandTests(TrainedRun run)
{
    // ⌊2,000 / 128⌋ full batches of the synthetic training split per epoch (the last partial batch is dropped).
    private const int StepsPerEpoch = TrainedRun.TrainImages / TrainedRun.BatchSize;

    [Fact]
    public void Should_train_the_paper_preset_with_the_overrides_and_write_the_checkpoints_and_one_metrics_line_per_epoch()
    {
        run.Result.ShouldSucceed();
        run.Result.Lines[^1].Should().Be($"Finished at step {TrainedRun.Epochs * StepsPerEpoch}; last checkpoint: {run.LastCheckpoint}, best: {Path.Combine(run.Output, "best.pth")}");
        run.Metrics.Select(m => m.GetProperty("epoch").GetInt32()).Should().Equal(1, 2, 3, 4);
        run.Metrics.Select(m => m.GetProperty("step").GetInt32()).Should().Equal(15, 30, 45, 60);
        // Sec. 4.1: peak 0.05 at batch 256, scaled linearly to 128, reached linearly from 0 over 3 warm-up epochs (45
        // steps); epoch 3 ends on warm-up step 44 of 0…44.
        run.Metrics[2].GetProperty("learning_rate").GetDouble().Should().BeApproximately(0.05 * 128 / 256 * 44 / 45, 1e-12);

        using var checkpoint = TrainingCheckpoint.Read(run.LastCheckpoint);
        checkpoint.Model.Should().Be(TrainedRun.Model);
        checkpoint.Epoch.Should().Be(TrainedRun.Epochs);
        checkpoint.Classes.Should().HaveCount(TrainedRun.Classes);
        checkpoint.Options.Preset.Should().Be("paper");
        (checkpoint.Options.InputSize, checkpoint.Options.Epochs, checkpoint.Options.BatchSize).Should().Be((TrainedRun.InputSize, TrainedRun.Epochs, TrainedRun.BatchSize));
        checkpoint.Options.WeightDecay.Should().Be(4e-5, "the paper preset's Sec. 4.1 value, not overridden");
        // The command restarts under tcmalloc where ./build.sh setup installed it, and the trainer stores what Auto came to there.
        checkpoint.Options.PointwiseConvolutions.Should().Be(File.Exists(Cli.Tcmalloc)
            ? PointwiseConvolutionPath.Checked : PointwiseConvolutionPath.MatrixProduct);
        checkpoint.Options.BatchNorm.Should().Be(BatchNormPath.LibTorch, "--batchnorm libtorch, not the default");
    }

    [Fact]
    public void Should_save_a_checkpoint_and_exit_130_on_ctrl_c()
    {
        string output = run.Scratch("interrupted");
        string[] arguments = ["train", "-d", "synthetic", "-m", TrainedRun.Model, "--input-size", "32", "--epochs", "4", "-b", "128", "-o", output];
        // Interrupt once training has made steps (the first progress line), as a user watching it would.
        var result = Cli.InterruptWhen(arguments, line => line.StartsWith("epoch 1/4  step"));

        result.ExitCode.Should().Be(130, $"128 + SIGINT, the shell's code for Ctrl+C; it printed:\n{result.Stdout}\n{result.Stderr}");
        result.Stderr.Should().BeEmpty();
        string last = Path.Combine(output, "last.pth");
        using var checkpoint = TrainingCheckpoint.Read(last);
        checkpoint.Step.Should().BeInRange(1, TrainedRun.Epochs * StepsPerEpoch - 1);
        // One line says where it saved, at the step the checkpoint holds, and how to continue.
        result.Lines.Where(l => l.StartsWith("Interrupted")).Should().ContainSingle()
            .Which.Should().Match($"Interrupted at epoch *, step {checkpoint.Step}; saved '{last}'. Continue with --resume {last}.");
        result.Lines.Should().NotContain(l => l.StartsWith("Finished"));
    }

    [Fact]
    public void Should_exit_1_naming_the_missing_dataset_folder_and_the_built_in_sets()
    {
        using var folder = new TempFolder();
        string missing = folder.Combine("no-such-data");
        Cli.Run("train", "-d", missing, "-m", TrainedRun.Model, "-o", folder.Combine("run"))
            .ShouldFailWith(1, $"Dataset folder '{missing}' does not exist. Pass a folder holding train/ and val/ (ImageNet layout), or one of: fashion-mnist, synthetic.");
    }

    [Fact]
    public void Should_exit_1_listing_the_presets_for_an_unknown_preset()
    {
        Cli.Run("train", "-d", "synthetic", "--preset", "fast").ShouldFailWith(1, "Unknown preset 'fast'. Available: paper, released, efficient, finetune, fashion-mnist, detection, detection-scenes.");
    }

    [Fact]
    public void Should_exit_1_listing_the_models_for_an_unknown_model()
    {
        using var folder = new TempFolder();
        Cli.Run("train", "-d", "synthetic", "-m", "mobilenext_999", "--input-size", "32", "-o", folder.Combine("run"))
            .ShouldFailWith(1, "Unknown model 'mobilenext_999'. Available: mobilenext_035, *");
    }

    [Fact]
    public void Should_exit_1_asking_for_another_folder_when_the_output_folder_cannot_be_written()
    {
        // /sys refuses new entries even to root, so this holds however the tests run.
        Cli.Run("train", "-d", "synthetic", "-m", TrainedRun.Model, "--input-size", "32", "-o", "/sys/mobilenext-run")
            .ShouldFailWith(1, "Output folder '/sys/mobilenext-run' is not writable (*). Choose another with --output.");
    }

    [Fact]
    public void Should_exit_1_naming_the_flag_when_the_batch_size_is_zero()
    {
        using var folder = new TempFolder();
        Cli.Run("train", "-d", "synthetic", "-m", TrainedRun.Model, "--input-size", "32", "-b", "0", "-o", folder.Combine("run"))
            .ShouldFailWith(1, "--batch-size must be at least 1; got 0.");
    }

    [Fact]
    public void Should_exit_2_naming_the_flag_whose_value_is_not_a_number()
    {
        Cli.Run("train", "-d", "synthetic", "--epochs", "many")
            .ShouldFailWith(2, "Cannot parse argument 'many' for option '--epochs' as expected type 'System.Int32'. Run 'mobilenext train --help' for usage.");
    }
}
