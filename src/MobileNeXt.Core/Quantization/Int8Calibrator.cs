using MobileNeXt.Export;
using MobileNeXt.Layers;
using MobileNeXt.Models;
using Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Quantization;

/// <summary>
/// Calibration: runs images through the fused eval model — the FP32 graph the exporter writes, executed by TorchSharp
/// — and records, for every value that gets a quantizer, its extremes and (for Percentile and Entropy) a histogram.
/// </summary>
public static class Int8Calibrator
{
    /// <summary>
    /// Collects <see cref="CalibrationStatistics"/> of <paramref name="model"/> over <paramref name="batches"/>
    /// (N×C×H×W float batches, normalised as the model expects; enumerated once for min/max and, with
    /// <paramref name="histograms"/>, a second time for histograms over the range found).
    /// </summary>
    /// <exception cref="ArgumentException">No batch, or batches of another size than the first.</exception>
    public static CalibrationStatistics Calibrate(ImageClassifier model, IEnumerable<Tensor> batches, bool histograms = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batches);
        ModelProto? graph = null;
        OnnxGraphRunner? runner = null;
        var min = new Dictionary<string, float>();
        var max = new Dictionary<string, float>();
        long[]? shape = null;
        int images = 0;
        try
        {
            using var _ = no_grad();
            foreach (var batch in batches)
            {
                if (batch.dim() != 4 || batch.shape[1] != model.InChannels)
                    throw new ArgumentException($"Calibration batches must be N×{model.InChannels}×H×W; got [{string.Join(", ", batch.shape)}].", nameof(batches));
                if (shape is null)
                {
                    shape = batch.shape;
                    graph = OnnxExporter.BuildModel(model, new OnnxExportOptions { InputHeight = (int)shape[2], InputWidth = (int)shape[3] });
                    runner = new OnnxGraphRunner(graph);
                }
                else if (batch.shape[2] != shape[2] || batch.shape[3] != shape[3])
                    throw new ArgumentException($"Calibration batches must all be {shape[2]}×{shape[3]}; got {batch.shape[2]}×{batch.shape[3]}.", nameof(batches));
                using var input = batch.to(ScalarType.Float32, CPU).contiguous();
                using var output = runner!.Run(input, (name, value) =>
                {
                    float lo = value.min().item<float>(), hi = value.max().item<float>();
                    min[name] = min.TryGetValue(name, out var m) ? Math.Min(m, lo) : lo;
                    max[name] = max.TryGetValue(name, out var n) ? Math.Max(n, hi) : hi;
                });
                images += (int)batch.shape[0];
            }
            if (runner is null) throw new ArgumentException("Calibration needs at least one batch of images; none was given.", nameof(batches));

            var counts = min.Keys.ToDictionary(k => k, _ => histograms ? new long[CalibrationStatistics.Bins] : []);
            if (histograms)
            {
                foreach (var batch in batches)
                {
                    using var input = batch.to(ScalarType.Float32, CPU).contiguous();
                    using var output = runner.Run(input, (name, value) =>
                    {
                        float limit = Limit(min[name], max[name]);
                        if (limit == 0) return;
                        // Bin i covers [−limit + i·w, −limit + (i + 1)·w), w = 2·limit / Bins; the maximum goes into the last bin.
                        using var scope = NewDisposeScope();
                        // Scalars held to the end of the call (OnnxGraphRunner says why)
                        using Scalar shift = limit, perBin = CalibrationStatistics.Bins / (2.0 * limit), first = 0, last = CalibrationStatistics.Bins - 1;
                        var index = value.flatten().add(shift, KeptScalars.One).mul_(perBin).floor_().clamp_(first, last).to(ScalarType.Int64);
                        var h = index.bincount(null, CalibrationStatistics.Bins);
                        var counted = h.data<long>().ToArray();
                        var total = counts[name];
                        for (int i = 0; i < total.Length; i++) total[i] += counted[i];
                    });
                }
            }
            return new CalibrationStatistics
            {
                Model = model.GetName(),
                Signature = Signature(graph!),
                Images = images,
                Height = (int)shape![2],
                Width = (int)shape[3],
                Tensors = min.Keys.ToDictionary(k => k, k => new TensorStatistics(min[k], max[k], Limit(min[k], max[k]), counts[k])),
            };
        }
        finally
        {
            runner?.Dispose();
        }
    }

    /// <summary>SHA-256 of the graph's structure: each node's operator, inputs and output, and each initializer's name and shape.</summary>
    internal static string Signature(ModelProto model)
    {
        var text = new System.Text.StringBuilder();
        foreach (var node in model.Graph.Node) text.Append(node.OpType).Append('(').AppendJoin(',', node.Input).Append(")>").Append(node.Output[0]).Append(';');
        foreach (var init in model.Graph.Initializer) text.Append(init.Name).Append('[').AppendJoin(',', init.Dims).Append("];");
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text.ToString())));
    }

    private static float Limit(float min, float max) => Math.Max(Math.Abs(min), Math.Abs(max));
}
