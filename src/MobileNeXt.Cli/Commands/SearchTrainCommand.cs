using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MobileNeXt.Interop;
using MobileNeXt.Search.Data;
using MobileNeXt.Search.Evaluation;
using MobileNeXt.Search.Network;
using MobileNeXt.Search.Search;
using TorchSharp;
using TorchSharp.PyBridge;

namespace MobileNeXt.Cli;

/// <summary>
/// <c>mobilenext search-train</c>: trains the network a searched genotype describes (DARTS's evaluation network: stem,
/// cells, auxiliary head) with DARTS's evaluation recipe (<see cref="DartsEvalOptions.Darts"/>) and reports the test
/// accuracy per epoch; <c>result.json</c> in the out folder holds every epoch and the parameter count.
/// </summary>
internal static class SearchTrainCommand
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static Command Create()
    {
        var genotype = new Option<string>("--genotype", "-g") { Description = "Genotype JSON written by 'mobilenext search', or DARTS_V2 for DARTS's published cell.", Required = true, HelpName = "file" };
        var data = new Option<string>("--data", "-d") { Description = $"Images to train and test on: {SearchSources.Names}.", Required = true, HelpName = "source" };
        var epochs = new Option<int?>("--epochs") { Description = "Epochs (DARTS: 600).", HelpName = "n" };
        var channels = new Option<int?>("--channels") { Description = "Initial channels (DARTS: 36).", HelpName = "n" };
        var layers = new Option<int?>("--layers") { Description = "Cells (DARTS: 20).", HelpName = "n" };
        var batch = new Option<int?>("--batch-size", "-b") { Description = "Batch size (DARTS: 96).", HelpName = "n" };
        var limit = new Option<int?>("--limit") { Description = "Train on only the first n training images.", HelpName = "n" };
        var testLimit = new Option<int?>("--test-limit") { Description = "Test on only the first n test images.", HelpName = "n" };
        var steps = new Option<int?>("--steps-per-epoch") { Description = "Stop each epoch after this many steps.", HelpName = "n" };
        var seed = new Option<int?>("--seed") { Description = "Seed of the initial weights, the shuffles and the augmentation (DARTS: 0).", HelpName = "n" };
        var threads = new Option<int?>("--threads") { Description = "libtorch threads.", HelpName = "n" };
        var output = new Option<string>("--out", "-o") { Description = "Folder for result.json and the trained weights.", DefaultValueFactory = _ => Path.Combine("runs", "search-train"), HelpName = "dir" };
        var command = new Command("search-train", "Train a searched cell's network with DARTS's evaluation recipe (SGD 0.025 cosine, auxiliary 0.4, drop-path 0.2, cutout 16) and report its test accuracy.")
        {
            genotype, data, epochs, channels, layers, batch, limit, testLimit, steps, seed, threads, output,
        };
        command.SetAction(result =>
        {
            TorchRuntime.EnsureAvailable();
            string genotypeFile = result.GetValue(genotype)!;
            Genotype cell;
            if (genotypeFile.Equals("DARTS_V2", StringComparison.OrdinalIgnoreCase)) cell = Genotype.DartsV2;
            else if (!File.Exists(genotypeFile))
                throw new FileNotFoundException($"Genotype file '{Path.GetFullPath(genotypeFile)}' does not exist; pass the genotype.json a 'mobilenext search' wrote, or DARTS_V2.");
            else
            {
                try { cell = Genotype.Load(genotypeFile); }
                catch (InvalidDataException ex) { throw new InvalidDataException($"'{genotypeFile}': {ex.Message}", ex); }
            }

            var options = DartsEvalOptions.Darts;
            if (result.GetValue(epochs) is { } e) options = options with { Epochs = e };
            if (result.GetValue(channels) is { } c) options = options with { Channels = c };
            if (result.GetValue(layers) is { } l) options = options with { Layers = l };
            if (result.GetValue(batch) is { } b) options = options with { BatchSize = b };
            if (result.GetValue(seed) is { } sd) options = options with { Seed = sd };
            if (result.GetValue(steps) is { } s && s < 1) throw new ArgumentException($"--steps-per-epoch must be at least 1; got {s}.");
            if (result.GetValue(threads) is { } t)
            {
                if (t < 1) throw new ArgumentException($"--threads must be at least 1; got {t}.");
                torch.set_num_threads(t);
            }
            options.Validate();

            var (train, test, normalization) = SearchSources.Open(result.GetValue(data)!);
            train = SearchSources.Limit(train, result.GetValue(limit), "--limit", $"training images of {result.GetValue(data)}");
            test = SearchSources.Limit(test, result.GetValue(testLimit), "--test-limit", $"test images of {result.GetValue(data)}");
            string outDir = Path.GetFullPath(result.GetValue(output)!);
            Directory.CreateDirectory(outDir);

            // train.py's transforms: crop with padding 4, flip, cutout 16 for training; normalisation only for testing
            var trainTransform = new DartsAugmentation(new DartsAugmentationOptions { Normalization = normalization, Padding = options.CropPadding, CutoutLength = options.CutoutLength });
            var testTransform = new DartsAugmentation(new DartsAugmentationOptions { Normalization = normalization, Train = false });
            torch.manual_seed(options.Seed);
            using var net = new EvalNetwork(new EvalNetworkOptions { Genotype = cell, Channels = options.Channels, Layers = options.Layers });
            using var run = new DartsEvalTraining(net, options) { MaxStepsPerEpoch = result.GetValue(steps) };
            long parameters = net.ReportedParameterCount();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Training {options.Layers} cells of {options.Channels} channels ({parameters / 1e6:0.000} M parameters without the auxiliary head) on {train.Count} images of {result.GetValue(data)}, testing on {test.Count}; {options.Epochs} epochs."));
            var trainBatches = SearchData.Batches(train, trainTransform, options.BatchSize, options.Seed);
            var testBatches = SearchData.Batches(test, testTransform, options.BatchSize, options.Seed + 1);

            using var cancel = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, args) => { args.Cancel = true; cancel.Cancel(); };
            Console.CancelKeyPress += onCancel;
            var history = new List<DartsEvalEpoch>();
            try
            {
                run.Run(trainBatches, () => testBatches(0), new SyncProgress<DartsEvalEpoch>(epoch =>
                {
                    history.Add(epoch);
                    WriteResult(outDir, genotypeFile, cell, options, parameters, history);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"epoch {epoch.Epoch + 1}/{options.Epochs}  lr {epoch.LearningRate:0.00000}  drop-path {epoch.DropPath:0.000}  loss {epoch.TrainLoss:0.0000}  train acc {100 * epoch.TrainAccuracy:0.00}%  test acc {100 * epoch.TestAccuracy:0.00}%"));
                }), cancel.Token);
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                Console.WriteLine($"Interrupted after {history.Count} epochs; '{Path.Combine(outDir, "result.json")}' holds them. This verb does not resume: run it again to start over.");
                return 130;
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
            AtomicFile.Write(Path.Combine(outDir, "weights.pth"), stream => net.save_py(stream, leaveOpen: true));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Finished: test accuracy {100 * history[^1].TestAccuracy:0.00}% (error {100 * (1 - history[^1].TestAccuracy):0.00}%). Result: {Path.Combine(outDir, "result.json")}"));
            return 0;
        });
        return command;
    }

    private static void WriteResult(string outDir, string genotypeFile, Genotype cell, DartsEvalOptions options, long parameters, IReadOnlyList<DartsEvalEpoch> history) =>
        AtomicFile.Write(Path.Combine(outDir, "result.json"), stream => JsonSerializer.Serialize(stream, new
        {
            genotype_file = genotypeFile,
            genotype = cell,
            options,
            parameters,
            test_accuracy = history[^1].TestAccuracy,
            epochs = history,
        }, Json));
}
