using Google.Protobuf;
using MobileNeXt.Export;
using MobileNeXt.Interop;
using MobileNeXt.Layers;
using MobileNeXt.Models;
using Onnx;
using TorchSharp;
using static MobileNeXt.Export.OnnxGraphBuilder;
using static TorchSharp.torch;

namespace MobileNeXt.Detection.Export;

/// <summary>
/// Writes an <see cref="SsdLite"/> detector as an ONNX model (opset <see cref="OnnxExporter.Opset"/>, BatchNorm folded,
/// standard operators only, the backbone written by Core's exporter): input <see cref="OnnxExporter.InputName"/>
/// float32 [batch, 3, S, S]; outputs <see cref="ScoresName"/> [batch, priors, classes] (raw logits),
/// <see cref="BoxesName"/> [batch, priors, 4] (raw regressions) and <see cref="PriorsName"/> [priors, 4] (centre-size,
/// relative), exactly what <see cref="SsdLite"/>'s <c>call</c> and <see cref="SsdLite.Priors"/> give.
/// </summary>
/// <remarks>
/// Decoding and NMS stay out of the graph, in <see cref="Boxes.SsdPostProcessor"/>, which takes the three outputs as
/// they come from ONNX Runtime. Why: ONNX's <c>NonMaxSuppression</c> selects per class with a per-class cap and no
/// cross-class top-k, so the released post-processing (one ranking over all classes, the first 100) would need
/// TopK/Gather/ScatterND scaffolding whose tie and threshold behaviour differs between runtimes; with the raw heads in
/// the file, the export is checked against the reference logits and regressions one for one, the thresholds remain a
/// run-time choice, and the same post-processor serves TorchSharp and ONNX Runtime. The priors travel in the file so a
/// consumer needs no copy of the prior configuration.
/// </remarks>
public static class SsdLiteOnnxExporter
{
    /// <summary>Name of the raw class-logit output, [batch, priors, classes].</summary>
    public const string ScoresName = "scores";

    /// <summary>Name of the raw box-regression output, [batch, priors, 4].</summary>
    public const string BoxesName = "boxes";

    /// <summary>Name of the priors output, [priors, 4] in centre-size form relative to the image.</summary>
    public const string PriorsName = "priors";

    /// <summary>Exports <paramref name="model"/> to <paramref name="path"/>, replacing it atomically.</summary>
    /// <param name="model">The detector; left unchanged (a fused copy is exported and disposed).</param>
    /// <param name="path">The <c>.onnx</c> file to write; its folder must exist.</param>
    /// <exception cref="NotSupportedException">A module the exporter does not know (named in the message).</exception>
    public static void Export(SsdLite model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        AtomicFile.Write(path, stream => Export(model, stream));
    }

    /// <summary>Exports <paramref name="model"/> as a serialized ONNX <c>ModelProto</c> to <paramref name="stream"/> (not closed).</summary>
    public static void Export(SsdLite model, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanWrite) throw new ArgumentException("The stream is not writable.", nameof(stream));
        var fused = model.IsFused ? null : model.Fuse();
        try
        {
            BuildModel(fused ?? model).WriteTo(stream);
        }
        finally
        {
            fused?.Dispose();
        }
    }

    private static ModelProto BuildModel(SsdLite model)
    {
        var g = new OnnxGraphBuilder();
        var options = model.Options;
        int size = options.ImageSize, priors = options.PriorCount;
        g.Graph.Name = nameof(SsdLite);
        g.Graph.Input.Add(FloatValue(OnnxExporter.InputName, OnnxExporter.BatchDimension, 3, size, size));

        var maps = Backbone(g, model.Backbone, OnnxExporter.InputName);
        var predictor = model.Predictor;
        Heads(g, maps, predictor.ClassHeads, "box_head.predictor.cls_headers", options.NumClasses, ScoresName);
        Heads(g, maps, predictor.BoxHeads, "box_head.predictor.reg_headers", 4, BoxesName);
        g.Node("Identity", PriorsName, [g.Weight("priors_data", model.Priors)]);

        g.Graph.Output.Add(FloatValue(ScoresName, OnnxExporter.BatchDimension, priors, options.NumClasses));
        g.Graph.Output.Add(FloatValue(BoxesName, OnnxExporter.BatchDimension, priors, 4));
        g.Graph.Output.Add(FloatValue(PriorsName, priors, 4));
        var onnx = new ModelProto
        {
            IrVersion = OnnxExporter.IrVersion,
            ProducerName = OnnxExporter.ProducerName,
            ProducerVersion = typeof(SsdLiteOnnxExporter).Assembly.GetName().Version?.ToString() ?? "",
            DocString = $"SSDLite{size}: BatchNorm folded, input {OnnxExporter.BatchDimension}×3×{size}×{size}; raw class logits, box regressions (variances {options.CenterVariance}/{options.SizeVariance}) and priors.",
            Graph = g.Graph,
        };
        onnx.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OnnxExporter.Opset });
        return onnx;
    }

    /// <summary>The backbone's six maps: the features with their two taps, then the extras.</summary>
    private static List<string> Backbone(OnnxGraphBuilder g, SsdLiteBackbone backbone, string x)
    {
        var maps = new List<string>();
        var features = backbone.Network.Features;
        for (int i = 0; i < features.Count; i++)
        {
            string path = $"backbone.features.{i}";
            if (backbone.Taps.Contains(new BackboneTap(i, true)))
            {
                var (layers, last) = ExpansionOf((nn.Module)features[i], path);
                for (int j = 0; j < layers.Count; j++)
                {
                    x = OnnxExporter.Emit(g, (nn.Module)layers[j], x, $"{path}.conv.{j}");
                    if (j == last) maps.Add(x);
                }
                continue;
            }
            x = OnnxExporter.Emit(g, (nn.Module)features[i], x, path);
            if (backbone.Taps.Contains(new BackboneTap(i, false))) maps.Add(x);
        }
        for (int k = 0; k < backbone.Extras.Count; k++)
        {
            x = OnnxExporter.Emit(g, backbone.Extras[k], x, $"backbone.extras.{k}");
            maps.Add(x);
        }
        return maps;
    }

    /// <summary>A tapped block's layers and the index of the layer whose output is its expansion; only blocks without a shortcut.</summary>
    private static (TorchSharp.Modules.Sequential Layers, int Last) ExpansionOf(nn.Module block, string path) => block switch
    {
        SandglassBlock { ShortcutChannels: 0 } s => (s.Layers, s.Spec.ExpansionLayerIndex()),
        InvertedResidual { HasShortcut: false } r => (r.Layers, 0),
        _ => throw new NotSupportedException($"ONNX export taps the expansion of blocks without a shortcut only; '{path}' is a {block.GetType().Name} with one."),
    };

    /// <summary>Each level's head, NCHW → NHWC → [batch, -1], concatenated and viewed as [batch, priors, width].</summary>
    private static void Heads(OnnxGraphBuilder g, List<string> maps, TorchSharp.Modules.ModuleList<nn.Module<Tensor, Tensor>> heads, string path, int width, string output)
    {
        var flat = new List<string>();
        for (int i = 0; i < maps.Count; i++)
        {
            string head = $"{path}.{i}";
            string y = heads[i] is SeparableHead separable ? OnnxExporter.Emit(g, separable.Layers, maps[i], head + ".conv") : OnnxExporter.Emit(g, (nn.Module)heads[i], maps[i], head);
            y = g.Node("Transpose", head + ".nhwc", [y], Ints("perm", [0, 2, 3, 1]));
            flat.Add(g.Node("Reshape", head + ".flatten", [y, g.Int64s(0, -1)]));
        }
        var all = g.Node("Concat", path + ".concat", flat, Int("axis", 1));
        g.Node("Reshape", output, [all, g.Int64s(0, -1, width)]);
    }
}
