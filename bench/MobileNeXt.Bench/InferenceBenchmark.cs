using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MobileNeXt.Export;
using MobileNeXt.Interop;
using MobileNeXt.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Bench;

/// <summary>
/// Issue 4's inference benchmark: the released mobilenext_100 at 224², 2 threads, batch 1 and 32, in TorchSharp eager,
/// TorchSharp fused, ONNX Runtime and PyTorch eager (the same weights), then Table 7's α sweep.
/// </summary>
internal static class InferenceBenchmark
{
    // environment.md: 622 MFLOP per image for MobileNeXt-1.0 (2 · 311 M MACs); two AVX-512 cores put the floor near 4 ms.
    private const double FlopsPerImage = 2 * 311_342_592.0;

    public static void Run(int threads, int iterations)
    {
        torch.set_num_threads(threads);
        var dir = Directory.CreateTempSubdirectory("mobilenext-bench").FullName;
        Console.WriteLine($"# Inference, mobilenext_100, 224², {threads} threads, median of {iterations} runs after warm-up");
        Console.WriteLine();
        Console.WriteLine("| batch | path | ms / batch | ms / image | vs PyTorch eager |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (int batch in new[] { 1, 32 })
        {
            int iters = batch == 1 ? iterations : Math.Max(3, iterations / 4);
            using var model = ModelRegistry.Create("mobilenext_100");
            RandomiseBatchNorm(model);
            model.eval();
            string weights = Path.Combine(dir, "weights.pth");
            ModelWeights.SavePyTorch(model, weights);
            CheckSameNetwork(model, weights, dir);

            var (version, torchSeconds) = PyTorchPeer.Run("infer", weights, "1.0", "1.0", batch.ToString(CultureInfo.InvariantCulture),
                threads.ToString(CultureInfo.InvariantCulture), iters.ToString(CultureInfo.InvariantCulture));
            using var fused = model.Fuse();
            using var x = randn(batch, 3, 224, 224);
            double eager, fast, fastNhwc;
            using (no_grad())
            {
                eager = Timing.MedianSeconds(() => model.call(x).Dispose(), iters);
                fast = Timing.MedianSeconds(() => fused.call(x).Dispose(), iters);
                // The layout change is timed with the call, as ImagePredictor makes it for every batch.
                fastNhwc = Timing.MedianSeconds(() => { using var nhwc = MemoryLayout.ToChannelsLast(x); fused.call(nhwc).Dispose(); }, iters);
            }
            double ort = OnnxRuntimeSeconds(model, dir, batch, threads, iters);
            void Row(string path, double s) =>
                Console.WriteLine($"| {batch} | {path} | {s * 1e3:0.0} | {s * 1e3 / batch:0.00} | {s / torchSeconds:0.00}× |");
            Row($"PyTorch {version} eager", torchSeconds);
            Row("TorchSharp eager", eager);
            Row("TorchSharp fused", fast);
            Row("TorchSharp fused, channels-last input", fastNhwc);
            Row("ONNX Runtime", ort);
            if (batch == 1)
                Console.WriteLine($"| 1 | compute floor ({FlopsPerImage / 1e6:0} MFLOP at the fused path's rate) | achieved {FlopsPerImage / fast / 1e9:0.0} GFLOP/s | | |");
        }
        Console.WriteLine();
        AlphaSweep(threads, iterations);
        Directory.Delete(dir, recursive: true);
    }

    /// <summary>Table 7: latency for α = 1, 1/2, 1/3, 1/6 (batch 1, fused TorchSharp and PyTorch eager).</summary>
    private static void AlphaSweep(int threads, int iterations)
    {
        Console.WriteLine("# Table 7: identity tensor multiplier, batch 1 (paper: 211, 196, 195, 188 ms on a Pixel 4 XL)");
        Console.WriteLine();
        Console.WriteLine("| α | TorchSharp fused ms | PyTorch eager ms | ratio |");
        Console.WriteLine("|---|---|---|---|");
        var dir = Directory.CreateTempSubdirectory("mobilenext-alpha").FullName;
        foreach (var (label, alpha) in new[] { ("1", 1.0), ("1/2", 0.5), ("1/3", 1.0 / 3), ("1/6", 1.0 / 6) })
        {
            using var model = ModelRegistry.Create("mobilenext_100", new ModelCreateOptions { IdentityMultiplier = alpha });
            RandomiseBatchNorm(model);
            model.eval();
            string weights = Path.Combine(dir, "w.pth");
            ModelWeights.SavePyTorch(model, weights);
            var (_, torchSeconds) = PyTorchPeer.Run("infer", weights, "1.0", alpha.ToString("R", CultureInfo.InvariantCulture), "1",
                threads.ToString(CultureInfo.InvariantCulture), iterations.ToString(CultureInfo.InvariantCulture));
            using var fused = model.Fuse();
            using var x = randn(1, 3, 224, 224);
            double s;
            using (no_grad()) s = Timing.MedianSeconds(() => fused.call(x).Dispose(), iterations);
            Console.WriteLine($"| {label} | {s * 1e3:0.0} | {torchSeconds * 1e3:0.0} | {s / torchSeconds:0.00}× |");
        }
        Directory.Delete(dir, recursive: true);
    }

    private static double OnnxRuntimeSeconds(ImageClassifier model, string dir, int batch, int threads, int iterations)
    {
        string path = Path.Combine(dir, "model.onnx");
        OnnxExporter.Export(model, path);
        return OnnxRuntimeSeconds(path, [batch, 3, 224, 224], threads, iterations);
    }

    /// <summary>
    /// Median seconds of one ONNX Runtime call of the model at <paramref name="path"/> (all graph optimizations,
    /// <paramref name="threads"/> intra-op threads) on an input of <paramref name="shape"/> with the spread of normalised images.
    /// </summary>
    internal static double OnnxRuntimeSeconds(string path, int[] shape, int threads, int iterations)
    {
        using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(path, options);
        var random = new Random(1);
        var pixels = new float[shape.Aggregate(1, (a, b) => a * b)];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (float)(random.NextDouble() * 4 - 2); // the spread of normalised images
        var input = new DenseTensor<float>(pixels, shape);
        var inputs = new[] { NamedOnnxValue.CreateFromTensor(session.InputMetadata.Keys.First(), input) };
        return Timing.MedianSeconds(() => { using var r = session.Run(inputs); }, iterations);
    }

    /// <summary>The PyTorch peer must be the same network: same weights, same logits, before anything is timed.</summary>
    private static void CheckSameNetwork(ImageClassifier model, string weights, string dir)
    {
        string input = Path.Combine(dir, "input.pt"), output = Path.Combine(dir, "logits.pt");
        using var x = randn(2, 3, 224, 224);
        using (var file = File.Create(input)) TorchSharp.PyBridge.PyTorchPickler.PickleStateDict(file, new Dictionary<string, TorchSharp.torch.Tensor> { ["input"] = x });
        PyTorchPeer.Run("infer", weights, "1.0", "1.0", "1", "1", "1", input, output);
        var theirs = ModelWeights.Read(output);
        using var _ = no_grad();
        using var ours = model.call(x);
        float diff = (ours - theirs["logits"]).abs().max().item<float>();
        foreach (var t in theirs.Values) t.Dispose();
        if (diff > 1e-3f) throw new InvalidOperationException($"The PyTorch peer is not the same network: max |Δ logits| = {diff}.");
        Console.WriteLine($"(PyTorch peer checked: same weights give the same logits, max |Δ| = {diff:E1})");
        Console.WriteLine();
    }

    /// <summary>
    /// Trained-like BatchNorm statistics. With the initial ones (mean 0, variance 1) a random network's activations fade
    /// towards zero within a few blocks, and timings of near-zero or subnormal data are not those of real images.
    /// </summary>
    internal static void RandomiseBatchNorm(nn.Module model)
    {
        using var _ = no_grad();
        foreach (var bn in model.modules().OfType<TorchSharp.Modules.BatchNorm>())
        {
            bn.running_mean!.copy_(randn(bn.running_mean.shape) * 0.1);
            bn.running_var!.copy_(rand(bn.running_var.shape) + 0.5);
        }
    }
}
