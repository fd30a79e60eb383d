using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using MobileNeXt.Export;
using MobileNeXt.Inference;
using MobileNeXt.Interop;
using MobileNeXt.Models;
using Onnx;

namespace MobileNeXt.Quantization;

/// <summary>What ONNX Runtime made of an INT8 model with every graph optimization on.</summary>
/// <param name="Operators">Nodes of the optimized graph by operator type.</param>
/// <param name="Convs">Convs of the FP32 model.</param>
/// <param name="FloatConvs">Names of Convs left in float (none when every Conv became a QLinearConv).</param>
/// <param name="FloatOperators">Other float compute nodes left (operator types), e.g. a Sigmoid ORT has no fused kernel for.</param>
public sealed record Int8FusionReport(IReadOnlyDictionary<string, int> Operators, int Convs, IReadOnlyList<string> FloatConvs, IReadOnlyList<string> FloatOperators)
{
    /// <summary>QLinearConv nodes in the optimized graph (either domain).</summary>
    public int QLinearConvs => Operators.GetValueOrDefault("QLinearConv");

    /// <summary>Whether every Conv runs as a QLinearConv.</summary>
    public bool AllConvsFused => FloatConvs.Count == 0 && QLinearConvs == Convs;
}

/// <summary>
/// INT8 post-training quantization: writes a calibrated QDQ ONNX model (opset 17) that ONNX Runtime runs with integer
/// kernels — per-channel symmetric int8 weights, asymmetric uint8 activations, int32 biases (see
/// <see cref="Int8Options"/>). Calibrate first with <see cref="Int8Calibrator"/>.
/// </summary>
public static class Int8Exporter
{
    /// <summary>
    /// Metadata key of the INT8 model: the side the shorter image side is resized to before the centre crop in the
    /// preprocessing it was calibrated with (<c>mobilenext eval --onnx</c> uses it).
    /// </summary>
    public const string EvalResizeKey = "mobilenext.eval_resize";

    /// <summary>
    /// The calibration statistics file written beside <paramref name="onnxPath"/>: <c>model.onnx</c> →
    /// <c>model.calibration.json</c>.
    /// </summary>
    public static string StatisticsPath(string onnxPath) => Path.ChangeExtension(onnxPath, ".calibration.json");

    /// <summary>
    /// Writes the INT8 model of <paramref name="model"/> to <paramref name="path"/> (atomically) and its statistics
    /// beside it; with <paramref name="verifyFusion"/> (needs ONNX Runtime's native library) the model is first run
    /// through ONNX Runtime and refused, with nothing written, when a Conv would stay in float.
    /// </summary>
    /// <exception cref="ArgumentException">The statistics were collected on another model.</exception>
    /// <exception cref="InvalidOperationException">ONNX Runtime cannot fuse a Conv (named in the message).</exception>
    /// <param name="model">The trained network (left unchanged; a fused copy is quantized).</param>
    /// <param name="statistics">Its calibration statistics (<see cref="Int8Calibrator.Calibrate"/>).</param>
    /// <param name="path">The <c>.onnx</c> file to write; its folder must exist.</param>
    /// <param name="options">How to quantize; null for the defaults.</param>
    /// <param name="verifyFusion">Check in ONNX Runtime that every Conv fuses before writing.</param>
    /// <param name="evalResize">The resize side of the evaluation preprocessing calibrated with, recorded as <see cref="EvalResizeKey"/>.</param>
    public static Int8FusionReport? Export(ImageClassifier model, CalibrationStatistics statistics, string path, Int8Options? options = null,
        bool verifyFusion = true, int? evalResize = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(statistics);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var proto = Build(model, statistics, options);
        if (evalResize is { } side)
            proto.MetadataProps.Add(new StringStringEntryProto { Key = EvalResizeKey, Value = side.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        byte[] bytes = proto.ToByteArray(); // serialized once: checked by ONNX Runtime, then written
        Int8FusionReport? report = null;
        if (verifyFusion)
        {
            string temporary = Path.Combine(Path.GetTempPath(), $"mobilenext-int8-{Guid.NewGuid():N}.onnx");
            try
            {
                File.WriteAllBytes(temporary, bytes);
                report = InspectFusion(temporary);
            }
            finally
            {
                File.Delete(temporary);
            }
            if (!report.AllConvsFused)
                throw new InvalidOperationException(
                    $"ONNX Runtime leaves {report.FloatConvs.Count} of {report.Convs} Convs in float ({string.Join(", ", report.FloatConvs.Take(5))}" +
                    $"{(report.FloatConvs.Count > 5 ? ", …" : "")}): their Q/DQ groups did not match a QLinearConv pattern. Nothing was written.");
        }
        AtomicFile.Write(path, stream => stream.Write(bytes));
        statistics.Save(StatisticsPath(path));
        return report;
    }

    /// <summary>The QDQ model in memory.</summary>
    internal static ModelProto Build(ImageClassifier model, CalibrationStatistics statistics, Int8Options? options)
    {
        options ??= new Int8Options();
        var fp32 = OnnxExporter.BuildModel(model, new OnnxExportOptions { InputHeight = statistics.Height, InputWidth = statistics.Width });
        if (statistics.Model != model.GetName() || statistics.Signature.Length > 0 && statistics.Signature != Int8Calibrator.Signature(fp32))
            throw new ArgumentException($"The calibration statistics were collected on another network ({statistics.Model}, graph {statistics.Signature[..Math.Min(12, statistics.Signature.Length)]}…), " +
                $"not on this {model.GetName()} (another width, α or class count, or another model); calibrate this model.", nameof(statistics));
        return QdqWriter.Quantize(fp32, statistics, options);
    }

    /// <summary>
    /// Loads <paramref name="path"/> in ONNX Runtime with every graph optimization on, has it write the graph it runs,
    /// and counts what it holds: QLinearConv for every Conv, and which float nodes are left.
    /// </summary>
    public static Int8FusionReport InspectFusion(string path)
    {
        var source = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        int convs = source.Graph.Node.Count(n => n.OpType is "Conv" or "QLinearConv");
        string optimized = Path.Combine(Path.GetTempPath(), $"mobilenext-optimized-{Guid.NewGuid():N}.onnx");
        try
        {
            using (new OnnxRuntimeModel(path, threads: 1, GraphOptimizationLevel.ORT_ENABLE_ALL, optimized)) { }
            var graph = ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimized)).Graph;
            var operators = graph.Node.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count());
            var floatConvs = graph.Node.Where(n => n.OpType is "Conv" or "FusedConv" or "NchwcConv").Select(n => n.Name).ToList();
            var floatOps = graph.Node.Select(n => n.OpType).Where(op => !IntegerOrLayout.Contains(op) && op is not ("Conv" or "FusedConv" or "NchwcConv"))
                .Distinct().Order().ToList();
            return new Int8FusionReport(operators, convs, floatConvs, floatOps);
        }
        finally
        {
            File.Delete(optimized);
        }
    }

    /// <summary>Operators that run on integers, or only move or convert data.</summary>
    private static readonly HashSet<string> IntegerOrLayout =
    [
        "QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearAdd", "QLinearMul", "QLinearConcat", "QLinearGlobalAveragePool",
        "QLinearSigmoid", "QLinearLeakyRelu", "QGemm", "QLinearMatMul", "MatMulIntegerToFloat", "DynamicQuantizeLinear", "Transpose",
        "Slice", "Split", "Flatten", "Reshape", "Pad", "ReorderInput", "ReorderOutput",
    ];
}
