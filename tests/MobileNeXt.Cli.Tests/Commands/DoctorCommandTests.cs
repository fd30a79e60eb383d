using TorchSharp;

namespace MobileNeXt.Cli.Tests.Commands;

/// <summary><c>mobilenext doctor</c>: whether the native backend loads.</summary>
public class DoctorCommandTests
{
    [Fact]
    public void Should_say_ok_with_the_TorchSharp_version_the_solution_references()
    {
        var run = Cli.Run("doctor").ShouldSucceed();

        string version = typeof(torch).Assembly.GetName().Version!.ToString(); // 0.107.0.0, Directory.Packages.props
        run.Lines.Should().ContainSingle().Which.Should().Match($"ok: TorchSharp {version} loaded its native backend; * CPU threads; CUDA not available.");
    }
}
