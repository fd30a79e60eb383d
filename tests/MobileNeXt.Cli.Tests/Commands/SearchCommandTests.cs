using System.Text.Json;
using MobileNeXt.Tests.Shared;

namespace MobileNeXt.Cli.Tests.Commands;

/// <summary><c>mobilenext search</c> and <c>train --genotype</c>: a tiny search, its files per epoch, resuming from its folder, training the searched cell, and bad inputs.</summary>
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

        // the searched cell trained by 'train --genotype' with DARTS's evaluation recipe: lr 0.025 · 16/96 (linear scaling
        // to the batch), a cosine stepped per epoch: epoch 2 of 2 at half of it
        string trained = folder.Combine("train");
        string[] cellRun = ["--data", "synthetic", "--batch-size", "16", "--channels", "4", "--layers", "5", "--steps-per-epoch", "2", "--threads", "1", "--workers", "1"];
        var train = Cli.Run(["train", "--genotype", Path.Combine(output, "genotype.json"), "--epochs", "2", .. cellRun, "--output", trained]).ShouldSucceed();
        train.Lines[0].Should().MatchRegex(@"^Training 5 cells of 4 channels \(0\.0\d\d M parameters without the auxiliary head, [\d.]+ M MACs at 32²\) on synthetic\.$");
        train.Lines.Where(l => l.StartsWith("epoch ") && !l.Contains(" done:")).Select(l => l.Split("  ")[0] + " " + l.Split("  ")[1] + " " + l.Split("  ")[3])
            .Should().Equal("epoch 1/2 step 2/2 lr 0.00417", "epoch 2/2 step 2/2 lr 0.00208");
        train.Lines.Where(l => l.Contains(" done:")).Should().HaveCount(2).And.OnlyContain(l => l.Contains("top-1 ") && l.Contains("top-5 "));
        using (var network = JsonDocument.Parse(File.ReadAllText(Path.Combine(trained, "network.json"))))
        {
            network.RootElement.GetProperty("channels").GetInt32().Should().Be(4);
            network.RootElement.GetProperty("layers").GetInt32().Should().Be(5);
            System.Text.Json.Nodes.JsonNode.DeepEquals(System.Text.Json.Nodes.JsonNode.Parse(network.RootElement.GetProperty("genotype").GetRawText()),
                System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(output, "genotype.json")))).Should().BeTrue("network.json holds the searched cell");
        }
        // resumed from its checkpoint alone: the cell, its size and the data come from it
        var more = Cli.Run("train", "--resume", Path.Combine(trained, "last.pth"), "--epochs", "3").ShouldSucceed();
        more.Lines.Where(l => l.Contains(" done:")).Select(l => l.Split(" done:")[0]).Should().Equal("epoch 3");
        // eval reads the cell, its size and its data from the checkpoint and gets the trainer's own test accuracy
        double lastTop1 = JsonDocument.Parse(File.ReadAllLines(Path.Combine(trained, "metrics.jsonl"))[^1]).RootElement.GetProperty("top1").GetDouble();
        var evaluated = Cli.Run("eval", Path.Combine(trained, "last.pth")).ShouldSucceed();
        evaluated.Lines[0].Should().MatchRegex(@"^darts_c4_l5_[0-9a-f]{8} \(5 cells of 4 channels, 0\.0\d\d M parameters; last\.pth, epoch 3\) on synthetic:$");
        evaluated.Lines[1].Should().Be(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"top-1 {lastTop1:0.00} %  top-5 ") + evaluated.Lines[1].Split("top-5 ")[1]);
        evaluated.Lines[1].Should().EndWith("(400 images)", "the synthetic source's 400 test images");
        Cli.Run("train", "--resume", Path.Combine(trained, "last.pth"), "--genotype", "DARTS_V2")
            .ShouldFailWith(1, "A resumed run keeps its cell and size (the checkpoint holds them); drop --genotype, --channels and --layers, or start a new run in another --output folder.");

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
        Cli.Run("train", "--genotype", missingGenotype, "--data", "synthetic", "--output", output)
            .ShouldFailWith(1, $"Genotype file '{missingGenotype}' does not exist; pass the genotype.json a 'mobilenext search' wrote, or DARTS_V2.");
        string notGenotype = folder.Combine("bad.json");
        File.WriteAllText(notGenotype, "{\"normal\": 3}");
        Cli.Run("train", "--genotype", notGenotype, "--data", "synthetic", "--output", output).ShouldFailWith(1, $"'{notGenotype}': Not a genotype*");
        Cli.Run("train", "--genotype", "DARTS_V2", "--data", "synthetic", "--preset", "paper", "--output", output)
            .ShouldFailWith(1, "--preset does not apply to a searched cell: --genotype trains with DARTS's evaluation recipe; change it with --epochs, --batch-size, --lr, --clip-grad.");
        Cli.Run("train", "--genotype", "DARTS_V2", "--data", "fashion-scenes", "--output", output)
            .ShouldFailWith(1, "--data 'fashion-scenes' is not a search source; use one of: fashion-mnist, cifar10:<dir>, synthetic.");
        Cli.Run("train", "--genotype", "DARTS_V2", "--data", "synthetic", "-m", "mobilenext_035", "--output", output)
            .ShouldFailWith(1, "--model, --width, --identity-multiplier and --input-size do not apply to a searched cell*");
        Cli.Run("train", "--data", "synthetic", "--layers", "8", "--output", output)
            .ShouldFailWith(1, "--channels and --layers size a searched cell's network; use them with --genotype.");
        Cli.Run("train", "--task", "darts", "--data", "synthetic", "--output", output)
            .ShouldFailWith(1, "--task darts trains a searched cell: say which with --genotype <genotype.json|DARTS_V2>.");
        Cli.Run("train", "--genotype", "DARTS_V2", "--task", "detection", "--data", "synthetic", "--output", output)
            .ShouldFailWith(1, "--genotype trains a searched cell's network (--task darts), not --task detection; drop one of them.");
        Directory.Exists(output).Should().BeFalse("nothing is written before the inputs are checked");
    }
}
