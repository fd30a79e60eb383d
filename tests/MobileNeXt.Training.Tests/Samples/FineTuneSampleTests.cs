using MobileNeXt.Tests.Shared;

namespace MobileNeXt.Training.Tests.Samples;

/// <summary>samples/FineTune run as a user runs it: what it says when the folder or the weights are not there.</summary>
public sealed class FineTuneSampleTests
{
    private static (int ExitCode, string Stdout, string Stderr) RunSample(params string[] arguments) =>
        BuiltApp.Run("FineTuneSample", TimeSpan.FromMinutes(2), arguments);

    private static string SingleErrorLine(int exitCode, string stderr)
    {
        exitCode.Should().Be(1);
        stderr.Should().NotContain("   at ", "a missing input is the user's to fix, not a bug with a stack trace");
        return stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().ContainSingle().Subject;
    }

    [Fact]
    public void Should_say_in_one_line_that_the_dataset_folder_is_missing()
    {
        using var folder = new TempFolder();
        string missing = folder.Combine("no-such-folder");
        var (exitCode, _, stderr) = RunSample(missing, folder.Combine("weights.pth"), "mobilenext_035", folder.Combine("run"));
        SingleErrorLine(exitCode, stderr).Should().Match($"error: Dataset folder '{missing}' does not exist.*train/ and val/*");
    }

    [Fact]
    public void Should_say_in_one_line_that_the_weights_file_is_missing()
    {
        using var folder = new TempFolder();
        foreach (var split in new[] { "train", "val" })
            foreach (var c in new[] { "a", "b" })
            {
                Directory.CreateDirectory(folder.Combine("data", split, c));
                TestImages.SaveConstant(folder.Combine("data", split, c, "0.png"));
            }
        string weights = folder.Combine("weights.pth");
        var (exitCode, _, stderr) = RunSample(folder.Combine("data"), weights, "mobilenext_035", folder.Combine("run"), "1");
        SingleErrorLine(exitCode, stderr).Should().Be($"error: Weights file '{weights}' does not exist.");
    }
}
