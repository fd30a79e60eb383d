using System.Text.Json;
using MobileNeXt.Tests.Shared;

namespace MobileNeXt.Cli.Tests.Commands;

/// <summary><c>mobilenext search</c>: a tiny search, its files per epoch, resuming from its folder, and bad inputs.</summary>
public class SearchCommandTests
{
    // 4 channels, 3 cells, 2 steps of batch 8 per epoch on 32 synthetic images: a few seconds per epoch on two cores
    private static readonly string[] Tiny = ["--data", "synthetic", "--limit", "32", "--batch-size", "8", "--channels", "4", "--layers", "3", "--steps-per-epoch", "2", "--threads", "1", "--log-every", "1"];

    private static readonly string[] Sandglass = ["sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sandglass_3x3"];

    [Fact]
    public void Should_search_write_a_genotype_and_plots_per_epoch_and_resume_from_its_folder()
    {
        using var folder = new TempFolder();
        string output = folder.Combine("search");
        var first = Cli.Run(["search", "--space", "darts+sandglass", "--epochs", "2", .. Tiny, "--out", output]).ShouldSucceed();
        first.Lines.Where(l => l.StartsWith("epoch ")).Select(l => l.Split("  ")[0]).Should().Equal("epoch 1/2", "epoch 2/2");
        first.Lines.Should().Contain(l => l.StartsWith("epoch 1/2  lr 0.02500  loss "), "DARTS's initial learning rate");
        first.Lines.Where(l => l.StartsWith("step ")).Select(l => l.Split("  ")[0]).Should().Equal("step 1", "step 2", "step 1", "step 2");
        first.Lines[^1].Should().Be($"Finished 2 epochs. Genotype: {Path.Combine(output, "genotype.json")}");
        foreach (string dir in new[] { Path.Combine(output, "epoch-001"), Path.Combine(output, "epoch-002"), output })
        {
            foreach (string png in new[] { "normal.png", "reduce.png", "alphas.png" })
                File.ReadAllBytes(Path.Combine(dir, png)).Take(8).Should().Equal([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], $"{png} in {dir} is a PNG");
            using var genotype = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "genotype.json")));
            foreach (string cell in new[] { "normal", "reduce" })
            {
                var edges = genotype.RootElement.GetProperty(cell).EnumerateArray().ToList();
                edges.Should().HaveCount(8, "two edges for each of DARTS's 4 nodes");
                edges.Select(e => e.GetProperty("operation").GetString()).Should().OnlyContain(op => Sandglass.Contains(op), "operations of the darts+sandglass space other than none");
            }
        }
        File.ReadAllText(Path.Combine(output, "genotype.json")).Should().Be(File.ReadAllText(Path.Combine(output, "epoch-002", "genotype.json")));
        Directory.GetFiles(output, "*.tmp", SearchOption.AllDirectories).Should().BeEmpty("files are written to a temporary name, then moved");

        // the same command with more epochs continues after epoch 2 instead of starting again
        var resumed = Cli.Run(["search", "--space", "darts+sandglass", "--epochs", "3", .. Tiny, "--out", output]).ShouldSucceed();
        resumed.Lines[0].Should().Be($"Resuming '{Path.Combine(output, "search.pth")}' after epoch 2/3.");
        resumed.Lines.Where(l => l.StartsWith("epoch ")).Select(l => l.Split("  ")[0]).Should().Equal("epoch 3/3");
        File.Exists(Path.Combine(output, "epoch-003", "alphas.png")).Should().BeTrue();
        using var history = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "history.json")));
        history.RootElement.EnumerateArray().Select(e => e.GetProperty("epoch").GetInt32()).Should().Equal(0, 1, 2);

        // a finished search run again does no epoch and keeps its files
        var again = Cli.Run(["search", "--space", "darts+sandglass", "--epochs", "3", .. Tiny, "--out", output]).ShouldSucceed();
        again.Lines.Should().NotContain(l => l.StartsWith("epoch "));

        // the searched cell trained with DARTS's evaluation recipe: cosine lr and linear drop-path over 2 epochs
        string trained = folder.Combine("train");
        var train = Cli.Run("search-train", "--genotype", Path.Combine(output, "genotype.json"), "--data", "synthetic", "--limit", "64", "--test-limit", "32",
            "--batch-size", "16", "--channels", "4", "--layers", "5", "--epochs", "2", "--steps-per-epoch", "2", "--threads", "1", "--out", trained).ShouldSucceed();
        train.Lines.Where(l => l.StartsWith("epoch ")).Select(l => l.Split("  ")[0] + " " + l.Split("  ")[1] + " " + l.Split("  ")[2])
            .Should().Equal("epoch 1/2 lr 0.02500 drop-path 0.000", "epoch 2/2 lr 0.01250 drop-path 0.100");
        using (var result = JsonDocument.Parse(File.ReadAllText(Path.Combine(trained, "result.json"))))
        {
            var epochs = result.RootElement.GetProperty("epochs").EnumerateArray().ToList();
            epochs.Select(e => e.GetProperty("steps").GetInt32()).Should().Equal(2, 2);
            double top1 = result.RootElement.GetProperty("test_accuracy").GetDouble();
            (top1 * 32).Should().BeApproximately(Math.Round(top1 * 32), 1e-9, "a count of the 32 test images");
            result.RootElement.GetProperty("parameters").GetInt64().Should().BePositive();
            train.Lines[^1].Should().StartWith($"Finished: test accuracy {100 * top1:0.00}%");
        }
        File.Exists(Path.Combine(trained, "weights.pth")).Should().BeTrue();

        Cli.Run(["search", "--space", "darts+ir", "--epochs", "3", .. Tiny, "--out", output])
            .ShouldFailWith(1, $"'{output}' holds a search of space 'darts+sandglass' (3 epochs done); continue it with --space darts+sandglass, or give another --out for a search of 'darts+ir'.");
    }

    [Fact]
    public void Should_exit_130_on_ctrl_c_keeping_the_finished_epochs_to_resume()
    {
        using var folder = new TempFolder();
        string output = folder.Combine("search");
        string[] arguments = ["search", "--space", "darts", "--epochs", "50", .. Tiny, "--out", output];
        // interrupt once an epoch has finished
        var result = Cli.InterruptWhen(arguments, line => line.StartsWith("epoch 1/50"));

        result.ExitCode.Should().Be(130, $"128 + SIGINT; it printed:\n{result.Stdout}\n{result.Stderr}");
        result.Stderr.Should().BeEmpty();
        int done = result.Lines.Count(l => l.StartsWith("epoch "));
        done.Should().BeInRange(1, 49);
        result.Lines[^1].Should().Be($"Interrupted in epoch {done + 1}; '{Path.Combine(output, "search.pth")}' holds {done} epochs. Run the same command to continue.");
        File.Exists(Path.Combine(output, $"epoch-{done:000}", "genotype.json")).Should().BeTrue();
        Cli.Run(["search", "--space", "darts", "--epochs", $"{done + 1}", .. Tiny, "--out", output]).ShouldSucceed()
            .Lines[0].Should().Be($"Resuming '{Path.Combine(output, "search.pth")}' after epoch {done}/{done + 1}.");
    }

    [Fact]
    public void Should_exit_1_naming_the_bad_space_source_order_or_genotype()
    {
        using var folder = new TempFolder();
        string output = folder.Combine("search");
        Cli.Run("search", "--space", "nas", "--data", "synthetic", "--out", output).ShouldFailWith(1, "*'nas'*darts*darts+sandglass*darts+ir*");
        Cli.Run("search", "--space", "darts", "--data", "mnist", "--out", output)
            .ShouldFailWith(1, "--data 'mnist' is not a search source; use one of: fashion-mnist, cifar10:<dir>, synthetic.");
        string missing = folder.Combine("no-cifar");
        Cli.Run("search", "--space", "darts", "--data", "cifar10:" + missing, "--out", output)
            .ShouldFailWith(1, $"CIFAR-10 folder '{missing}' does not exist.*cifar10:<its cifar-10-batches-bin folder>.");
        Cli.Run("search", "--space", "darts", "--data", "synthetic", "--order", "3", "--out", output)
            .ShouldFailWith(1, "--order must be 1 (first-order) or 2 (second-order); got 3.");
        Cli.Run("search", "--space", "darts", "--data", "synthetic", "--limit", "1", "--out", output)
            .ShouldFailWith(1, "--limit must be between 2 and 2000*; got 1.");
        Directory.Exists(output).Should().BeFalse("nothing is written before the inputs are checked");

        string missingGenotype = folder.Combine("none.json");
        Cli.Run("search-train", "--genotype", missingGenotype, "--data", "synthetic", "--out", output)
            .ShouldFailWith(1, $"Genotype file '{missingGenotype}' does not exist; pass the genotype.json a 'mobilenext search' wrote, or DARTS_V2.");
        string notGenotype = folder.Combine("bad.json");
        File.WriteAllText(notGenotype, "{\"normal\": 3}");
        Cli.Run("search-train", "--genotype", notGenotype, "--data", "synthetic", "--out", output).ShouldFailWith(1, $"'{notGenotype}': Not a genotype*");
    }
}
