using Microsoft.ML.OnnxRuntime;
using MobileNeXt.Export;
using MobileNeXt.Inference;
using MobileNeXt.Models;
using MobileNeXt.Quantization;
using static TorchSharp.torch;

namespace MobileNeXt.Bench;

/// <summary>
/// The INT8 benchmark (Table 4's deployment side): ONNX Runtime latency of the INT8 QDQ model against the FP32 ONNX
/// model of the same network in the same run, at batch 1 and 32 on the given threads, with both files' sizes.
/// </summary>
internal static class Int8Benchmark
{
    public static void Run(int threads, int iterations, string[] models)
    {
        set_num_threads(threads);
        var dir = Directory.CreateTempSubdirectory("mobilenext-int8").FullName;
        Console.WriteLine($"# INT8 vs FP32 in ONNX Runtime {OrtEnv.Instance().GetVersionString()}, 224², {threads} threads, median of {iterations} runs after warm-up");
        Console.WriteLine();
        Console.WriteLine("| model | batch | FP32 ms | INT8 ms | INT8 / FP32 | FP32 bytes | INT8 bytes | size ratio |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        foreach (var name in models)
        {
            using var model = ModelRegistry.Create(name);
            InferenceBenchmark.RandomiseBatchNorm(model);
            model.eval();
            string fp32 = Path.Combine(dir, $"{name}.onnx"), int8 = Path.Combine(dir, $"{name}.int8.onnx");
            OnnxExporter.Export(model, fp32);
            manual_seed(3);
            var calibration = Enumerable.Range(0, 4).Select(_ => rand(8, 3, 224, 224) * 4 - 2).ToList(); // the spread of normalised images
            var statistics = Int8Calibrator.Calibrate(model, calibration, histograms: false);
            var report = Int8Exporter.Export(model, statistics, int8)!;
            if (!report.AllConvsFused) throw new InvalidOperationException($"{name}: {report.FloatConvs.Count} Convs left in float.");
            long fp32Bytes = new FileInfo(fp32).Length, int8Bytes = new FileInfo(int8).Length;
            using var fp32Model = new OnnxRuntimeModel(fp32, threads);
            using var int8Model = new OnnxRuntimeModel(int8, threads);
            foreach (int batch in new[] { 1, 32 })
            {
                int iters = batch == 1 ? iterations : Math.Max(3, iterations / 4);
                using var x = rand(batch, 3, 224, 224) * 4 - 2;
                double a = Timing.MedianSeconds(() => fp32Model.call(x).Dispose(), iters);
                double b = Timing.MedianSeconds(() => int8Model.call(x).Dispose(), iters);
                Console.WriteLine($"| {name} | {batch} | {a * 1e3:0.0} | {b * 1e3:0.0} | {b / a:0.00}× | {fp32Bytes:N0} | {int8Bytes:N0} | {(double)int8Bytes / fp32Bytes:0.00} |");
            }
            foreach (var t in calibration) t.Dispose();
        }
        Directory.Delete(dir, recursive: true);
    }
}
