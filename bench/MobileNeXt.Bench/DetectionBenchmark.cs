using System.Globalization;
using MobileNeXt.Detection;
using MobileNeXt.Detection.Export;
using MobileNeXt.Interop;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Bench;

/// <summary>
/// Issue 12's detection latency: the released SSDLite320-MobileNeXt (VOC, 21 classes) at 320², batch 1, raw heads
/// (the network; box decoding and NMS are the same post-processor on every path and not timed), in TorchSharp eager,
/// TorchSharp fused, ONNX Runtime (<see cref="SsdLiteOnnxExporter"/>) and PyTorch eager on the same weights.
/// </summary>
internal static class DetectionBenchmark
{
    public static void Run(int threads, int iterations)
    {
        torch.set_num_threads(threads);
        var dir = Directory.CreateTempSubdirectory("mobilenext-detect-bench").FullName;
        try
        {
            using var model = SsdLite.CreateMobileNeXt();
            InferenceBenchmark.RandomiseBatchNorm(model);
            model.eval();
            string weights = Path.Combine(dir, "ssdlite.pth");
            ModelWeights.SavePyTorch(model, weights);
            CheckSameNetwork(model, weights, dir);

            var (version, torchSeconds) = PyTorchPeer.Run("detect", weights, "1", threads.ToString(CultureInfo.InvariantCulture),
                iterations.ToString(CultureInfo.InvariantCulture));
            using var fused = model.Fuse();
            using var x = randn(1, 3, 320, 320);
            double eager, fast, fastNhwc;
            using (no_grad())
            {
                eager = Timing.MedianSeconds(() => Dispose(model.call(x)), iterations);
                fast = Timing.MedianSeconds(() => Dispose(fused.call(x)), iterations);
                fastNhwc = Timing.MedianSeconds(() => { using var nhwc = MemoryLayout.ToChannelsLast(x); Dispose(fused.call(nhwc)); }, iterations);
            }
            double ort = OnnxRuntimeSeconds(model, dir, threads, iterations);
            Console.WriteLine($"# Detection, SSDLite320-MobileNeXt (VOC), 320², batch 1, raw heads, {threads} threads, median of {iterations} runs after warm-up");
            Console.WriteLine();
            Console.WriteLine("| path | ms | vs PyTorch eager |");
            Console.WriteLine("|---|---|---|");
            void Row(string path, double s) => Console.WriteLine($"| {path} | {s * 1e3:0.0} | {s / torchSeconds:0.00}× |");
            Row($"PyTorch {version} eager", torchSeconds);
            Row("TorchSharp eager", eager);
            Row("TorchSharp fused", fast);
            Row("TorchSharp fused, channels-last input", fastNhwc);
            Row("ONNX Runtime", ort);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void Dispose((Tensor Scores, Tensor Boxes) outputs)
    {
        outputs.Scores.Dispose();
        outputs.Boxes.Dispose();
    }

    private static double OnnxRuntimeSeconds(SsdLite model, string dir, int threads, int iterations)
    {
        string path = Path.Combine(dir, "ssdlite.onnx");
        SsdLiteOnnxExporter.Export(model, path);
        return InferenceBenchmark.OnnxRuntimeSeconds(path, [1, 3, 320, 320], threads, iterations);
    }

    /// <summary>The PyTorch peer must be the same detector: same weights, same raw heads, before anything is timed.</summary>
    private static void CheckSameNetwork(SsdLite model, string weights, string dir)
    {
        string input = Path.Combine(dir, "input.pt"), output = Path.Combine(dir, "heads.pt");
        using var x = randn(2, 3, 320, 320);
        using (var file = File.Create(input)) TorchSharp.PyBridge.PyTorchPickler.PickleStateDict(file, new Dictionary<string, Tensor> { ["input"] = x });
        PyTorchPeer.Run("detect", weights, "1", "1", "1", input, output);
        var theirs = ModelWeights.Read(output);
        using var _ = no_grad();
        var (scores, boxes) = model.call(x);
        using (scores)
        using (boxes)
        {
            float diff = Math.Max((scores - theirs["scores"]).abs().max().item<float>(), (boxes - theirs["boxes"]).abs().max().item<float>());
            foreach (var t in theirs.Values) t.Dispose();
            if (diff > 1e-3f) throw new InvalidOperationException($"The PyTorch peer is not the same detector: max |Δ raw heads| = {diff}.");
            Console.WriteLine($"(PyTorch peer checked: same weights give the same raw heads, max |Δ| = {diff:E1})");
            Console.WriteLine();
        }
    }
}
