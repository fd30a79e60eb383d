using System.CommandLine;
using MobileNeXt.Training;
using MobileNeXt.Training.Comparisons;
using MobileNeXt.Training.Recipes;
using MobileNeXt.Training.Reporting;

namespace MobileNeXt.Cli;

/// <summary>
/// <c>mobilenext compare</c>: train several networks with one recipe, seed and budget, then measure and tabulate them
/// (<see cref="ModelComparison"/>); resumable per network.
/// </summary>
internal static class CompareCommand
{
    public static Command Create()
    {
        var models = new Option<string>("--models") { Description = "Comma-separated networks: registry names, each optionally with :a=<α> and :w=<width>, e.g. mobilenext_035,mobilenext_035:a=1/2,mobilenetv2_035.", Required = true, HelpName = "list" };
        var data = new Option<string>("--data", "-d") { Description = $"A folder with train/ and val/, or one of: {TrainingData.Builtins}.", Required = true, HelpName = "source" };
        var preset = new Option<string>("--preset") { Description = $"The one recipe: {string.Join(", ", RecipePresets.Names)}.", DefaultValueFactory = _ => "fashion-mnist", HelpName = "name" };
        var epochs = new Option<int?>("--epochs") { Description = "Epochs per network (the preset's otherwise).", HelpName = "n" };
        var warmup = new Option<int?>("--warmup-epochs") { Description = "Warm-up epochs (the preset's otherwise).", HelpName = "n" };
        var batch = new Option<int?>("--batch-size", "-b") { Description = "Batch size (the preset's otherwise).", HelpName = "n" };
        var inputSize = new Option<int?>("--input-size") { Description = "Input side (the preset's otherwise).", HelpName = "n" };
        var seed = new Option<int>("--seed") { Description = "Seed of every network's run.", DefaultValueFactory = _ => 0, HelpName = "n" };
        var int8 = new Option<bool>("--int8") { Description = "Also quantize each network to INT8 and measure its top-1 and agreement with FP32." };
        var output = new Option<string>("--out", "-o") { Description = "Report folder (a sub-folder per network; run again to resume).", DefaultValueFactory = _ => Path.Combine("runs", "compare"), HelpName = "dir" };
        var command = new Command("compare", "Train networks with the same recipe, seed and budget; tabulate top-1/top-5, params, MACs, TorchSharp and ONNX Runtime latency and INT8 accuracy; plot them.")
        {
            models, data, preset, epochs, warmup, batch, inputSize, seed, int8, output,
        };
        command.SetAction(result =>
        {
            TorchRuntime.EnsureAvailable();
            var compared = result.GetValue(models)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(ComparedModel.Parse).ToList();
            var recipe = RecipePresets.Get(result.GetValue(preset)!) with { Seed = result.GetValue(seed) };
            if (result.GetValue(epochs) is { } e) recipe = recipe with { Epochs = e };
            if (result.GetValue(warmup) is { } w) recipe = recipe with { WarmupEpochs = w };
            if (result.GetValue(batch) is { } b) recipe = recipe with { BatchSize = b };
            if (result.GetValue(inputSize) is { } s) recipe = recipe with { InputSize = s };
            var trainingData = TrainingData.Open(result.GetValue(data)!, syntheticImageSize: Math.Max(recipe.InputSize, 32));
            using var cancel = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, args) => { args.Cancel = true; cancel.Cancel(); };
            Console.CancelKeyPress += onCancel;
            try
            {
                var options = new ComparisonOptions { Models = compared, Recipe = recipe, OutputDirectory = result.GetValue(output)!, Int8 = result.GetValue(int8) };
                IReadOnlyList<ComparisonRow> rows = [];
                ConsoleProgress.Run(recipe.LogEverySteps, progress =>
                {
                    rows = ModelComparison.Run(options, trainingData, _ => progress, cancel.Token);
                    return 0;
                });
                Console.WriteLine(File.ReadAllText(Path.Combine(options.OutputDirectory, "comparison.md")));
                Console.WriteLine($"Report, plots and each network's run are in '{Path.GetFullPath(options.OutputDirectory)}'.");
                return rows.Count == compared.Count ? 0 : 130;
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
        });
        return command;
    }
}
