using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MobileNeXt.Export;
using MobileNeXt.Inference;
using MobileNeXt.Interop;
using MobileNeXt.Models;
using MobileNeXt.Profiling;
using MobileNeXt.Quantization;
using MobileNeXt.Training.Recipes;
using MobileNeXt.Training.Reporting;
using ScottPlot;
using static TorchSharp.torch;

namespace MobileNeXt.Training.Comparisons;

/// <summary>One network of a comparison: a registry name, optionally with an identity multiplier α and a width.</summary>
/// <param name="Model">Registry name.</param>
/// <param name="IdentityMultiplier">α (Sec. 3.3), 1 by default.</param>
/// <param name="Width">Width multiplier overriding the name's, or null.</param>
public sealed record ComparedModel(string Model, double IdentityMultiplier = 1, double? Width = null)
{
    /// <summary>
    /// Parses <c>name</c>, <c>name:a=1/2</c>, <c>name:w=0.5</c> or both (<c>name:a=1/6:w=0.75</c>); α takes a fraction.
    /// </summary>
    /// <exception cref="ArgumentException">The text says what part is not understood.</exception>
    public static ComparedModel Parse(string text)
    {
        var parts = text.Trim().Split(':');
        var model = new ComparedModel(parts[0]);
        foreach (var part in parts.Skip(1))
        {
            var kv = part.Split('=', 2);
            double value = kv.Length == 2 ? Number(kv[1]) : throw new ArgumentException($"'{part}' in '{text}' is not key=value; use a=<α> or w=<width>.");
            model = kv[0] switch
            {
                "a" => model with { IdentityMultiplier = value },
                "w" => model with { Width = value },
                _ => throw new ArgumentException($"'{kv[0]}' in '{text}' is not a model setting; use a=<α> or w=<width>."),
            };
        }
        return model;
    }

    private static double Number(string s)
    {
        var parts = s.Split('/');
        var numbers = new double[parts.Length];
        bool ok = parts.Length <= 2;
        for (int i = 0; ok && i < parts.Length; i++) ok = double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out numbers[i]);
        if (ok && parts.Length == 1) return numbers[0];
        if (ok && numbers[1] != 0) return numbers[0] / numbers[1];
        throw new ArgumentException($"'{s}' is not a number or a fraction such as 1/2.");
    }

    /// <summary>A label for tables and folder names, e.g. <c>mobilenext_035_a0.5</c>.</summary>
    public string Label => Model + (IdentityMultiplier != 1 ? $"_a{IdentityMultiplier.ToString("0.###", CultureInfo.InvariantCulture)}" : "")
        + (Width is { } w ? $"_w{w.ToString("0.###", CultureInfo.InvariantCulture)}" : "");
}

/// <summary>What a comparison measured of one network.</summary>
public sealed record ComparisonRow(string Label, string Model, double IdentityMultiplier, double? Width, double Top1, double Top5,
    long Params, long Macs, double FusedMilliseconds, double OnnxMilliseconds, double? Int8Top1, double? Int8Agreement, IReadOnlyList<EpochMetrics> Epochs);

/// <summary>How <see cref="ModelComparison"/> runs.</summary>
public sealed record ComparisonOptions
{
    /// <summary>The networks, in table order.</summary>
    public required IReadOnlyList<ComparedModel> Models { get; init; }

    /// <summary>The one recipe every network trains with (its Model, Width, IdentityMultiplier and OutputDirectory are set per network).</summary>
    public required TrainingOptions Recipe { get; init; }

    /// <summary>The report folder: one sub-folder per network (its run), comparison.md, comparison.json and the plots.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Also quantize each network to INT8 (per-channel MinMax, 512 training images) and measure its top-1 and agreement.</summary>
    public bool Int8 { get; init; }

    /// <summary>Timed calls per latency (median, batch 1, after 3 warm-up calls).</summary>
    public int LatencyIterations { get; init; } = 20;

    /// <summary>Threads for the latency measurements (libtorch and ONNX Runtime alike).</summary>
    public int LatencyThreads { get; init; } = 2;
}

/// <summary>
/// Trains several networks with the same recipe, seed and budget and measures each: top-1/top-5, parameters, MACs,
/// latency of the fused TorchSharp model and of its ONNX export in ONNX Runtime, and optionally INT8 accuracy; then
/// writes a Markdown table, JSON and plots (accuracy against MACs and against latency, training curves overlaid).
/// Resumable: a network whose <c>result.json</c> exists is not trained or measured again, and an interrupted run
/// continues from its <c>last.pth</c>.
/// </summary>
public static class ModelComparison
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Runs the comparison; returns the rows of the networks finished (all of them unless cancelled).</summary>
    public static IReadOnlyList<ComparisonRow> Run(ComparisonOptions options, TrainingData data, Func<ComparedModel, ITrainingProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(data);
        if (options.Models.Count == 0) throw new ArgumentException("Give at least one model to compare.", nameof(options));
        var duplicate = options.Models.GroupBy(m => m.Label).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"'{duplicate.Key}' is listed twice.", nameof(options));
        Directory.CreateDirectory(options.OutputDirectory);
        var rows = new List<ComparisonRow>();
        foreach (var compared in options.Models)
        {
            string dir = Path.Combine(options.OutputDirectory, compared.Label);
            string resultPath = Path.Combine(dir, "result.json");
            if (File.Exists(resultPath))
            {
                rows.Add(JsonSerializer.Deserialize<ComparisonRow>(File.ReadAllText(resultPath), Json)!);
                continue;
            }
            var recipe = options.Recipe with
            {
                Model = compared.Model, Width = compared.Width, IdentityMultiplier = compared.IdentityMultiplier, OutputDirectory = dir,
            };
            string last = Path.Combine(dir, "last.pth");
            TrainingResult run;
            using (var trainer = new Trainer(recipe, data, progress: progress?.Invoke(compared)))
                run = trainer.Run(File.Exists(last) ? last : null, cancellationToken);
            if (run.Interrupted) break;
            var row = Measure(compared, recipe, data, options, dir, new MetricsLog(dir).ReadAll());
            AtomicFile.Write(resultPath, stream => JsonSerializer.Serialize(stream, row, Json));
            rows.Add(row);
        }
        WriteReport(rows, options.OutputDirectory);
        return rows;
    }

    private static ComparisonRow Measure(ComparedModel compared, TrainingOptions recipe, TrainingData data, ComparisonOptions options, string dir,
        IReadOnlyList<EpochMetrics> epochs)
    {
        using var model = ModelRegistry.Create(compared.Model, new ModelCreateOptions
        {
            Width = compared.Width, IdentityMultiplier = compared.IdentityMultiplier, NumClasses = data.Train.Classes.Count,
        });
        ModelWeights.Load(model, Path.Combine(dir, "last.pth"));
        model.eval();
        var preprocessing = new EvalPreprocessing(recipe.EffectiveEvalResizeSize, recipe.InputSize);
        var accuracy = Evaluation.Evaluate(model, data.Validation, preprocessing, workers: recipe.Workers);
        var profile = ModelProfiler.Profile(model, recipe.InputSize);

        int threads = get_num_threads();
        set_num_threads(options.LatencyThreads);
        try
        {
            using var input = randn(1, model.InChannels, recipe.InputSize, recipe.InputSize);
            using var fused = model.Fuse();
            double fusedMs;
            using (no_grad()) fusedMs = MedianMilliseconds(() => fused.call(input).Dispose(), options.LatencyIterations);
            string onnx = Path.Combine(dir, "model.onnx");
            OnnxExporter.Export(model, onnx, new OnnxExportOptions { InputSize = recipe.InputSize });
            double onnxMs;
            using (var ort = new OnnxRuntimeModel(onnx, options.LatencyThreads)) onnxMs = MedianMilliseconds(() => ort.call(input).Dispose(), options.LatencyIterations);

            double? int8Top1 = null, agreement = null;
            if (options.Int8)
            {
                var statistics = Int8Calibrator.Calibrate(model, Evaluation.CalibrationBatches(data.Train, preprocessing, 512, workers: recipe.Workers), histograms: false);
                string int8Path = Path.Combine(dir, "model.int8.onnx");
                Int8Exporter.Export(model, statistics, int8Path, evalResize: recipe.EffectiveEvalResizeSize);
                var (fp32, labels) = Evaluation.Predict(model, data.Validation, preprocessing, workers: recipe.Workers);
                using var int8 = new OnnxRuntimeModel(int8Path, options.LatencyThreads);
                var (quantized, _) = Evaluation.Predict(int8, data.Validation, preprocessing, workers: recipe.Workers, channelsLast: false);
                int8Top1 = Evaluation.PercentEqual(quantized, labels);
                agreement = Evaluation.PercentEqual(quantized, fp32);
            }
            return new ComparisonRow(compared.Label, compared.Model, compared.IdentityMultiplier, compared.Width, accuracy.Top1, accuracy.Top5,
                profile.TotalParams, profile.TotalMacs, fusedMs, onnxMs, int8Top1, agreement, epochs);
        }
        finally
        {
            set_num_threads(threads);
        }
    }

    private static double MedianMilliseconds(Action action, int iterations)
    {
        for (int i = 0; i < 3; i++) action();
        var samples = new double[Math.Max(1, iterations)];
        for (int i = 0; i < samples.Length; i++)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            samples[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Array.Sort(samples);
        return samples[samples.Length / 2];
    }

    /// <summary>comparison.md, comparison.json, accuracy_vs_macs.png, accuracy_vs_latency.png and curves.png in <paramref name="directory"/>.</summary>
    public static void WriteReport(IReadOnlyList<ComparisonRow> rows, string directory)
    {
        static string F(double? v, string format) => v is { } x ? x.ToString(format, CultureInfo.InvariantCulture) : "–";
        var md = new System.Text.StringBuilder();
        md.AppendLine("| model | top-1 (%) | top-5 (%) | params | MACs | fused TorchSharp (ms) | ONNX Runtime (ms) | INT8 top-1 (%) | FP32/INT8 agreement (%) |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var r in rows)
            md.AppendLine($"| {r.Label} | {F(r.Top1, "0.00")} | {F(r.Top5, "0.00")} | {r.Params.ToString("N0", CultureInfo.InvariantCulture)} | {r.Macs.ToString("N0", CultureInfo.InvariantCulture)} | " +
                          $"{F(r.FusedMilliseconds, "0.00")} | {F(r.OnnxMilliseconds, "0.00")} | {F(r.Int8Top1, "0.00")} | {F(r.Int8Agreement, "0.00")} |");
        AtomicFile.Write(Path.Combine(directory, "comparison.md"), s => s.Write(System.Text.Encoding.UTF8.GetBytes(md.ToString())));
        AtomicFile.Write(Path.Combine(directory, "comparison.json"), s => JsonSerializer.Serialize(s, rows, Json));
        if (rows.Count == 0) return;

        void Points(string file, string title, string xLabel, Func<ComparisonRow, double> x)
        {
            var plot = new Plot();
            foreach (var r in rows)
            {
                var point = plot.Add.Scatter(new[] { x(r) }, new[] { r.Top1 });
                point.LegendText = r.Label;
                point.MarkerSize = 10;
            }
            Save(plot, title, xLabel, Path.Combine(directory, file));
        }
        Points("accuracy_vs_macs.png", "Top-1 against MACs", "MACs (millions)", r => r.Macs / 1e6);
        Points("accuracy_vs_latency.png", "Top-1 against latency (fused TorchSharp, batch 1)", "latency (ms)", r => r.FusedMilliseconds);
        var curves = new Plot();
        foreach (var r in rows.Where(r => r.Epochs.Count > 0))
            curves.Add.Scatter(r.Epochs.Select(e => (double)e.Epoch).ToArray(), r.Epochs.Select(e => e.Top1).ToArray()).LegendText = r.Label;
        Save(curves, "Validation top-1 during training", "epoch", Path.Combine(directory, "curves.png"));
    }

    private static void Save(Plot plot, string title, string xLabel, string path)
    {
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel("top-1 (%)");
        plot.ShowLegend();
        string temporary = path + ".tmp.png";
        plot.SavePng(temporary, 800, 500);
        File.Move(temporary, path, overwrite: true);
    }
}
