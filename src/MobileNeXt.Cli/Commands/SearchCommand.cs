using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MobileNeXt.Interop;
using MobileNeXt.Search.Data;
using MobileNeXt.Search.Network;
using MobileNeXt.Search.Operations;
using MobileNeXt.Search.Search;
using MobileNeXt.Training.Data;
using TorchSharp;

namespace MobileNeXt.Cli;

/// <summary>
/// <c>mobilenext search</c>: DARTS (Liu et al. 2018) over one of Table 9's spaces — DARTS's operators, plus the sandglass
/// block, or plus the inverted residual block — with DARTS's search recipe by default. Resumable: the out folder holds
/// <c>search.pth</c>, written after every epoch, and running the same command again continues from it. Every epoch
/// writes <c>epoch-NNN/genotype.json</c>, <c>normal.png</c>, <c>reduce.png</c> and <c>alphas.png</c>, and copies the
/// latest to the folder's top.
/// </summary>
internal static class SearchCommand
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static Command Create()
    {
        var space = new Option<string>("--space", "-s") { Description = $"Search space: {string.Join(", ", SearchSpace.All.Select(s => s.Name))} (Table 9).", Required = true, HelpName = "name" };
        var data = new Option<string>("--data", "-d") { Description = $"Training images to search on, split in halves as DARTS does: {SearchSources.Names} (the binary cifar-10-batches-bin folder).", Required = true, HelpName = "source" };
        var order = new Option<int>("--order") { Description = "1: first-order approximation; 2: the unrolled second-order gradient (DARTS Sec. 2.3).", DefaultValueFactory = _ => 1, HelpName = "1|2" };
        var epochs = new Option<int?>("--epochs") { Description = "Search epochs (DARTS: 50).", HelpName = "n" };
        var batch = new Option<int?>("--batch-size", "-b") { Description = "Batch size of both halves (DARTS: 64).", HelpName = "n" };
        var channels = new Option<int?>("--channels") { Description = "Initial channels of the search network (DARTS: 16).", HelpName = "n" };
        var layers = new Option<int?>("--layers") { Description = "Cells of the search network (DARTS: 8).", HelpName = "n" };
        var limit = new Option<int?>("--limit") { Description = "Search on only the first n training images (a budget for small machines).", HelpName = "n" };
        var steps = new Option<int?>("--steps-per-epoch") { Description = "Stop each epoch after this many steps.", HelpName = "n" };
        var seed = new Option<int?>("--seed") { Description = "Seed of the initial weights, the shuffles and the augmentation (DARTS: 2).", HelpName = "n" };
        var logEvery = new Option<int>("--log-every") { Description = "Print the running loss every n steps (0: only per epoch); a DARTS step takes minutes on a small CPU.", DefaultValueFactory = _ => 10, HelpName = "n" };
        var threads = new Option<int?>("--threads") { Description = "libtorch threads.", HelpName = "n" };
        var output = new Option<string>("--out", "-o") { Description = "Folder for search.pth and the genotypes and plots (run again to resume).", DefaultValueFactory = _ => Path.Combine("runs", "search"), HelpName = "dir" };
        var command = new Command("search", "Search a cell with DARTS over DARTS's operators, plus the sandglass or the inverted residual block (Table 9); resumable, with a genotype and plots per epoch.")
        {
            space, data, order, epochs, batch, channels, layers, limit, steps, seed, logEvery, threads, output,
        };
        command.SetAction(result =>
        {
            TorchRuntime.EnsureAvailable();
            var searchSpace = SearchSpace.FromName(result.GetValue(space)!);
            int orderValue = result.GetValue(order);
            if (orderValue is not (1 or 2)) throw new ArgumentException($"--order must be 1 (first-order) or 2 (second-order); got {orderValue}.");
            var options = DartsSearchOptions.Darts with { Order = orderValue == 1 ? SearchOrder.First : SearchOrder.Second };
            var network = options.Network with { Space = searchSpace };
            if (result.GetValue(channels) is { } c) network = network with { Channels = c };
            if (result.GetValue(layers) is { } l) network = network with { Layers = l };
            options = options with { Network = network };
            if (result.GetValue(epochs) is { } e) options = options with { Epochs = e };
            if (result.GetValue(batch) is { } b) options = options with { BatchSize = b };
            if (result.GetValue(steps) is { } s) options = options with { MaxStepsPerEpoch = s };
            if (result.GetValue(seed) is { } sd) options = options with { Seed = sd };
            if (result.GetValue(threads) is { } t)
            {
                if (t < 1) throw new ArgumentException($"--threads must be at least 1; got {t}.");
                torch.set_num_threads(t);
            }
            options.Validate();
            int every = result.GetValue(logEvery);
            if (every < 0) throw new ArgumentException($"--log-every must be 0 (per epoch only) or more; got {every}.");

            string outDir = Path.GetFullPath(result.GetValue(output)!);
            string checkpoint = Path.Combine(outDir, "search.pth");
            if (File.Exists(checkpoint))
            {
                // say what is wrong before loading any data
                var (savedSpace, done) = SearchCheckpoint.Peek(checkpoint);
                if (savedSpace != searchSpace.Name)
                    throw new ArgumentException($"'{outDir}' holds a search of space '{savedSpace}' ({done} epochs done); continue it with --space {savedSpace}, or give another --out for a search of '{searchSpace.Name}'.");
            }

            var (images, _, normalization) = SearchSources.Open(result.GetValue(data)!);
            // DARTS's search transform (train_search.py: crop with padding 4 and flip for both halves; no cutout)
            var augmentation = new DartsAugmentation(new DartsAugmentationOptions { Normalization = normalization });
            images = SearchSources.Limit(images, result.GetValue(limit), "--limit", $"training images of {result.GetValue(data)}");
            var (weightHalf, archHalf) = SearchData.Split(images, options.TrainPortion);
            if (options.BatchSize > archHalf.Count)
                throw new ArgumentException($"--batch-size {options.BatchSize} is larger than the architecture half ({archHalf.Count} images); lower it or search on more images.");
            Directory.CreateDirectory(outDir);

            torch.manual_seed(options.Seed);
            using var net = new SearchNetwork(options.Network);
            using var search = new DartsSearch(net, options);
            if (File.Exists(checkpoint))
            {
                search.RestoreCheckpoint(checkpoint);
                Console.WriteLine($"Resuming '{checkpoint}' after epoch {search.EpochsDone}/{options.Epochs}.");
            }
            else Console.WriteLine($"Searching {searchSpace.Name} ({searchSpace.Operations.Count} operations) on {images.Count} images of {result.GetValue(data)}: " +
                                   $"{weightHalf.Count} train the weights, {archHalf.Count} train α; {options.Epochs} epochs, {(options.Order == SearchOrder.First ? "first" : "second")} order.");

            using var cancel = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, args) => { args.Cancel = true; cancel.Cancel(); };
            Console.CancelKeyPress += onCancel;
            try
            {
                search.Run(
                    SearchData.Batches(weightHalf, augmentation, options.BatchSize, options.Seed),
                    SearchData.RandomBatch(archHalf, augmentation, options.BatchSize, options.Seed + 1),
                    new SyncProgress<SearchEpoch>(epoch =>
                    {
                        // the checkpoint first: a stop while the pictures are drawn loses pictures, never an epoch
                        search.SaveCheckpoint(checkpoint);
                        WriteEpoch(outDir, net, epoch, search.History);
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"epoch {epoch.Epoch + 1}/{options.Epochs}  lr {epoch.LearningRate:0.00000}  loss {epoch.TrainLoss:0.0000}  train acc {100 * epoch.TrainAccuracy:0.00}%  steps {epoch.Steps}"));
                        Console.WriteLine($"  {epoch.Genotype}");
                    }),
                    every == 0 ? null : new SyncProgress<SearchStep>(step =>
                    {
                        if ((step.Step + 1) % every == 0)
                            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  step {step.Step + 1}  loss {step.Loss:0.0000}  epoch mean {step.RunningLoss:0.0000}"));
                    }),
                    cancel.Token);
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                Console.WriteLine($"Interrupted in epoch {search.EpochsDone + 1}; '{checkpoint}' holds {search.EpochsDone} epochs. Run the same command to continue.");
                return 130;
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
            if (search.History.Count == 0) throw new InvalidDataException($"'{checkpoint}' records no finished epoch; delete it and search again.");
            // a resumed search that was already finished still leaves the top-level files
            WriteTop(outDir, net, search.History);
            Console.WriteLine($"Finished {search.EpochsDone} epochs. Genotype: {Path.Combine(outDir, "genotype.json")}");
            return 0;
        });
        return command;
    }

    private static void WriteEpoch(string outDir, SearchNetwork net, SearchEpoch epoch, IReadOnlyList<SearchEpoch> history)
    {
        string dir = Path.Combine(outDir, $"epoch-{epoch.Epoch + 1:000}");
        Directory.CreateDirectory(dir);
        WriteFiles(dir, net, epoch);
        WriteTop(outDir, net, history);
    }

    /// <summary>The latest epoch's files at the folder's top, and <c>history.json</c>: every epoch's learning rate, loss, accuracy and genotype.</summary>
    private static void WriteTop(string outDir, SearchNetwork net, IReadOnlyList<SearchEpoch> history)
    {
        WriteFiles(outDir, net, history[^1]);
        AtomicFile.Write(Path.Combine(outDir, "history.json"), stream => JsonSerializer.Serialize(stream, history, Json));
    }

    private static void WriteFiles(string dir, SearchNetwork net, SearchEpoch epoch)
    {
        epoch.Genotype.Save(Path.Combine(dir, "genotype.json"));
        GenotypePlot.Save(epoch.Genotype, reduction: false, Path.Combine(dir, "normal.png"));
        GenotypePlot.Save(epoch.Genotype, reduction: true, Path.Combine(dir, "reduce.png"));
        AlphaPlot.Save(net, Path.Combine(dir, "alphas.png"));
    }
}
