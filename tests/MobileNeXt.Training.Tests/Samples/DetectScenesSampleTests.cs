using System.Globalization;
using System.Text.Json;
using MobileNeXt.Tests.Shared;

namespace MobileNeXt.Training.Tests.Samples;

/// <summary>samples/DetectScenes run as a user runs it, in its own process, so exit code and console are the user's.</summary>
public class DetectScenesSampleTests
{
    [Fact]
    public void Should_print_one_line_naming_the_missing_file_and_the_package_when_fashion_mnist_is_missing()
    {
        using var folder = new TempFolder();
        string missing = folder.Combine("no-fashion-mnist");

        BuiltApp.ShouldSayFashionMnistIsMissing(RunSample("mobilenext_035", "1", folder.Combine("run"), "16", "8", missing), missing);
    }

    [Fact]
    public void Should_say_which_argument_is_not_a_count()
    {
        var (exitCode, _, stderr) = RunSample("mobilenext_035", "two");
        exitCode.Should().Be(2);
        stderr.Trim().Should().Be("error: The epochs argument (position 2) is 'two'; give a positive whole number.");
    }

    [Fact]
    public void Should_train_an_epoch_and_print_the_map_the_trainer_logged()
    {
        using var folder = new TempFolder();
        string run = folder.Combine("run");

        // Debian's dataset-fashion-mnist (build.sh installs it). One step of 16 scenes (the preset's batch) of 160², evaluated on 8.
        var (exitCode, stdout, stderr) = RunSample("mobilenext_035", "1", run, "16", "8");

        exitCode.Should().Be(0, stderr);
        var metrics = JsonDocument.Parse(File.ReadLines(Path.Combine(run, "metrics.jsonl")).Single()).RootElement.GetProperty("metrics");
        string map = metrics.GetProperty("mAP@0.5").GetDouble().ToString("0.00", CultureInfo.InvariantCulture);
        stdout.Should().Contain("epoch 1 done: ").And.Contain($"mAP@0.5 {map}  mAP@0.5 all-point ");
        stdout.Should().MatchRegex($@"Done after \d+:\d\d:\d\d \(mobilenext_035\): epoch 1: mAP@0\.5 {System.Text.RegularExpressions.Regex.Escape(map)}\n");
        File.Exists(Path.Combine(run, "last.pth")).Should().BeTrue();
    }

    private static (int ExitCode, string Stdout, string Stderr) RunSample(params string[] arguments) =>
        BuiltApp.Run("DetectScenesSample", TimeSpan.FromMinutes(3), arguments);
}
