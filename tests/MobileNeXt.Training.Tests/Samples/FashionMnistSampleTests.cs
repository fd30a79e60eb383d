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

        BuiltApp.ShouldSayFashionMnistIsMissing(RunSample("1", folder.Combine("run"), missing), missing);
    }

    private static (int ExitCode, string Stdout, string Stderr) RunSample(params string[] arguments) =>
        BuiltApp.Run("FashionMnistSample", TimeSpan.FromSeconds(60), arguments);
}
