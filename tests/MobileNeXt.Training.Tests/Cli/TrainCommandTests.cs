using MobileNeXt.Tests.Shared;
using MobileNeXt.Training.Tests.Samples;

namespace MobileNeXt.Training.Tests.Cli;

/// <summary>
/// What a new user meets with <c>mobilenext train</c>, run as a process exactly as typed: the README's
/// <c>train --resume runs/…/last.pth</c> without <c>--data</c>, a schedule too short for its warm-up, fine-tuning with
/// <c>--init</c>, and <c>predict</c> naming the classes of a trained checkpoint without <c>--labels</c>.
/// </summary>
public sealed class TrainCommandTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3); // a hang, not a slow machine
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static (int ExitCode, string Stdout, string Stderr) Mobilenext(params string[] arguments) =>
        BuiltApp.Run("MobileNeXtCli", Timeout, arguments);

    // ImageNet layout: one flat colour per class, 8 training and 2 validation images each.
    private string Folder(string name, params string[] classes)
    {
        string root = _folder.Combine(name);
        byte shade = 30;
        foreach (var c in classes)
        {
            shade += 70;
            foreach (var (split, count) in new[] { ("train", 8), ("val", 2) })
            {
                Directory.CreateDirectory(Path.Combine(root, split, c));
                for (int i = 0; i < count; i++)
                    TestImages.SaveConstant(Path.Combine(root, split, c, $"{i}.png"), r: shade, g: (byte)(255 - shade), b: (byte)(i * 20));
            }
        }
        return root;
    }

    private static readonly string[] Small = ["-m", "mobilenext_035", "--input-size", "32", "--batch-size", "8", "--workers", "1", "--threads", "1"];

    [Fact]
    public void Should_resume_without_data_fine_tune_with_init_and_predict_with_the_checkpoints_class_names()
    {
        string pets = Folder("pets", "cats", "dogs");
        string run = _folder.Combine("run");
        var first = Mobilenext(["train", "--data", pets, .. Small, "--epochs", "1", "--warmup-epochs", "0", "-o", run]);
        first.ExitCode.Should().Be(0, first.Stderr);

        // The README's line: no --data; the checkpoint names the folder it trained on.
        var resumed = Mobilenext("train", "--resume", Path.Combine(run, "last.pth"), "--epochs", "2");
        resumed.ExitCode.Should().Be(0, resumed.Stderr);
        resumed.Stdout.Should().Contain("Resumed from").And.Contain("Finished at step 4");

        var predicted = Mobilenext("predict", "-m", "mobilenext_035", "--input-size", "32", "-w", Path.Combine(run, "last.pth"), Path.Combine(pets, "val", "dogs", "0.png"));
        predicted.ExitCode.Should().Be(0, predicted.Stderr);
        predicted.Stdout.Should().Contain("cats").And.Contain("dogs", "the checkpoint's class names label the output without --labels");

        string zoo = Folder("zoo", "cats", "dogs", "owls");
        var tuned = Mobilenext(["train", "--data", zoo, "--preset", "finetune", "--init", Path.Combine(run, "last.pth"), .. Small,
            "--epochs", "1", "--warmup-epochs", "0", "--freeze-features", "-o", _folder.Combine("tuned")]);
        tuned.ExitCode.Should().Be(0, tuned.Stderr);
        tuned.Stdout.Split('\n').Should().ContainSingle(l => l.Contains("the classifier was replaced (2 classes in the file, 3 in the data"));
    }

    [Fact]
    public void Should_name_the_flags_that_fix_a_schedule_too_short_for_its_warm_up()
    {
        // The paper preset warms up for 3 epochs, so --epochs 3 leaves no epoch for the cosine.
        var (exitCode, stdout, stderr) = Mobilenext("train", "--data", "synthetic", "--epochs", "3", "-o", _folder.Combine("short"));
        exitCode.Should().Be(1);
        stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().ContainSingle()
            .Which.Should().Match("error: --epochs (3) must leave at least one cosine epoch after 3 warm-up*raise --epochs to 4 or more*--warmup-epochs to 2 or less*");
        stdout.Should().NotContain("   at ");
    }

    [Fact]
    public void Should_say_what_to_train_on_when_neither_data_nor_resume_is_given()
    {
        var (exitCode, _, stderr) = Mobilenext("train", "-o", _folder.Combine("nothing"));
        exitCode.Should().Be(1);
        stderr.Trim().Should().Match("error: Say what to train on with --data <folder|fashion-mnist|synthetic>, or continue a run with --resume <checkpoint>.");
    }
}
