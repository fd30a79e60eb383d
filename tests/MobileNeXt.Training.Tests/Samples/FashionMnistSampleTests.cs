using MobileNeXt.Tests.Shared;

namespace MobileNeXt.Training.Tests.Samples;

/// <summary>samples/FashionMnist run as a user runs it, in its own process, so exit code and console are the user's.</summary>
public class FashionMnistSampleTests
{
    [Fact]
    public void Should_print_one_line_naming_the_missing_file_and_the_package_and_exit_non_zero_when_the_dataset_is_missing()
    {
        using var folder = new TempFolder();
        string missing = folder.Combine("no-fashion-mnist");

        var (exitCode, stdout, stderr) = RunSample("1", folder.Combine("run"), missing);

        exitCode.Should().NotBe(0);
        stdout.Should().BeEmpty();
        string[] lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().ContainSingle("the sample must say what is missing in one line, not a stack trace");
        lines[0].Should().Match($"error: *'{Path.Combine(missing, "train-images-idx3-ubyte.gz")}'*apt-get install dataset-fashion-mnist*");
        stderr.Should().NotContain("   at ");
    }

    private static (int ExitCode, string Stdout, string Stderr) RunSample(params string[] arguments) =>
        BuiltApp.Run("FashionMnistSample", TimeSpan.FromSeconds(60), arguments);
}
