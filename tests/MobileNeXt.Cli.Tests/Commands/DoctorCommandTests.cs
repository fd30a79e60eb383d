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
        run.Lines[0].Should().Match($"ok: TorchSharp {version} loaded its native backend; * CPU threads; CUDA not available.");
    }

    [Fact]
    public void Should_run_under_tcmalloc_where_it_is_installed()
    {
        var run = Cli.Run("doctor").ShouldSucceed();

        // The line reads /proc/self/maps of the process that ran the command: the restart under LD_PRELOAD happened.
        run.Lines.Should().HaveCount(2);
        run.Lines[1].Should().Be(File.Exists(Cli.Tcmalloc) ? "memory: tcmalloc (preloaded)." : "memory: glibc malloc, freed memory retained; install libtcmalloc-minimal4 (./build.sh setup) for steadier, faster training steps.");
    }

    [Fact]
    public void Should_keep_glibc_malloc_when_asked()
    {
        var run = Cli.RunWith(new Dictionary<string, string> { ["MOBILENEXT_ALLOCATOR"] = "glibc" }, "doctor").ShouldSucceed();

        run.Lines[1].Should().StartWith("memory: glibc malloc, freed memory retained");
    }

    [Fact]
    public void Should_refuse_an_allocator_library_that_does_not_exist()
    {
        var run = Cli.RunWith(new Dictionary<string, string> { ["MOBILENEXT_ALLOCATOR"] = "/nonexistent/libjemalloc.so.2" }, "doctor");

        run.ShouldFailWith(2, "MOBILENEXT_ALLOCATOR names '/nonexistent/libjemalloc.so.2', which does not exist*glibc*");
    }
}
