using Google.Protobuf;
using MobileNeXt.Interop;
using MobileNeXt.Layers;
using MobileNeXt.Models;
using Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static MobileNeXt.Export.OnnxGraphBuilder;
using static TorchSharp.torch;

namespace MobileNeXt.Export;

/// <summary>
/// Writes an <see cref="ImageClassifier"/> (every registry model, at any α) as an ONNX model for inference runtimes:
/// opset <see cref="Opset"/>, IR version <see cref="IrVersion"/>, one float32 input <see cref="InputName"/> of shape
/// [batch, C, H, W] with a dynamic batch dimension, and one output <see cref="OutputName"/> of shape [batch, classes]
/// (the pooled features when the model has no classifier).
/// </summary>
/// <remarks>
/// BatchNorm is folded into the convs first (<see cref="ImageClassifier.Fuse"/>). The graph is written by walking the
/// module tree in execution order, not by tracing, with standard operators only: <c>Conv</c> (weights and biases as
/// initializers named by their state_dict keys), ReLU6 as <c>Clip(0, 6)</c>, the sandglass shortcut of Eq. 4 as
/// <c>Add</c> (α = 1) or <c>Slice</c> + <c>Add</c> + <c>Concat</c> (0 &lt; ⌊αC⌋ &lt; C), and the head as
/// <c>GlobalAveragePool</c> → <c>Flatten</c> → <c>Gemm</c>. Dropout is omitted, as at inference.
/// </remarks>
public static class OnnxExporter
{
    /// <summary>The operator set of the default domain the graph uses (Clip takes its bounds as inputs from opset 11).</summary>
    public const int Opset = 17;

    /// <summary>The ONNX IR version written, the one that goes with opset 17.</summary>
    public const long IrVersion = 8;

    /// <summary>The producer name recorded in the file.</summary>
    public const string ProducerName = "MobileNeXt.Core";

    /// <summary>Name of the graph's input, float32 [batch, C, H, W].</summary>
    public const string InputName = "input";

    /// <summary>Name of the graph's output, float32 [batch, classes].</summary>
    public const string OutputName = "logits";

    /// <summary>The symbolic name of the dynamic batch dimension of input and output.</summary>
    public const string BatchDimension = "batch";

    /// <summary>Exports <paramref name="model"/> to the file <paramref name="path"/>, replacing it atomically (never a half-written file).</summary>
    /// <param name="model">The model; left unchanged (a fused copy is exported and disposed).</param>
    /// <param name="path">The <c>.onnx</c> file to write; its folder must exist.</param>
    /// <param name="options">Input height and width; null for the defaults.</param>
    /// <exception cref="DirectoryNotFoundException">The folder of <paramref name="path"/> does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder cannot be written to.</exception>
    /// <exception cref="NotSupportedException">The model contains a module the exporter does not know (named in the message).</exception>
    public static void Export(ImageClassifier model, string path, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new OnnxExportOptions();
        options.Validate();
        AtomicFile.Write(path, stream => Export(model, stream, options));
    }

    /// <summary>Exports <paramref name="model"/> as a serialized ONNX <c>ModelProto</c> to <paramref name="stream"/>.</summary>
    /// <param name="model">The model; left unchanged (a fused copy is exported and disposed).</param>
    /// <param name="stream">A writable stream; it is not closed.</param>
    /// <param name="options">Input height and width; null for the defaults.</param>
    /// <exception cref="NotSupportedException">The model contains a module the exporter does not know (named in the message).</exception>
    public static void Export(ImageClassifier model, Stream stream, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanWrite) throw new ArgumentException("The stream is not writable.", nameof(stream));
        BuildModel(model, options).WriteTo(stream);
    }

    /// <summary>The ONNX model of <paramref name="model"/>, in memory.</summary>
    internal static ModelProto BuildModel(ImageClassifier model, OnnxExportOptions? options)
    {
        options ??= new OnnxExportOptions();
        options.Validate();
        var fused = model.IsFused ? null : model.Fuse();
        try
        {
            return BuildModel(fused ?? model, options.Height, options.Width);
        }
        finally
        {
            fused?.Dispose();
        }
    }

    private static ModelProto BuildModel(ImageClassifier model, int height, int width)
    {
        var g = new OnnxGraphBuilder();
        g.Graph.Name = model.GetName();
        g.Graph.Input.Add(FloatValue(InputName, BatchDimension, model.InChannels, height, width));

        // ImageClassifier.forward: features → avgpool → flatten(1) → classifier (Dropout, Linear or Identity).
        // A flat layout (MobileNeXt†) names its layers without the features./classifier. prefix.
        var x = Emit(g, model.Features, InputName, model.IsFlat ? "" : "features");
        x = Emit(g, model.Pool, x, "avgpool");
        x = g.Node("Flatten", "flatten", [x], Int("axis", 1));
        x = Emit(g, model.Classifier, x, model.IsFlat ? "" : "classifier");

        var last = g.Graph.Node[^1]; // the head always ends in a node (Flatten at least), whose output is x
        if (last.Output[0] != x) throw new InvalidOperationException($"ONNX export: the graph's result '{x}' is not its last node's output.");
        last.Output[0] = OutputName;
        g.Graph.Output.Add(FloatValue(OutputName, BatchDimension, model.NumClasses > 0 ? model.NumClasses : model.NumFeatures));

        var onnx = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = ProducerName,
            ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "",
            DocString = $"{model.GetName()}: BatchNorm folded, input {BatchDimension}×{model.InChannels}×{height}×{width}.",
            Graph = g.Graph,
        };
        onnx.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        return onnx;
    }

    /// <summary>Appends the nodes of <paramref name="module"/> applied to the value <paramref name="x"/>; returns its output's name.</summary>
    internal static string Emit(OnnxGraphBuilder g, nn.Module module, string x, string path)
    {
        switch (module)
        {
            case Sequential sequential:
                foreach (var (name, child) in sequential.named_children()) x = Emit(g, child, x, path.Length == 0 ? name : $"{path}.{name}");
                return x;
            case Conv2d conv:
                return Conv(g, conv, x, path);
            case Identity:
            case Dropout: // inference: the identity
                return x;
            case ReLU6:
                return g.Node("Clip", path, [x, g.Scalar(0), g.Scalar(6)]);
            case SiLU:
                return Swish(g, x, path);
            case StaticZeroPad pad:
                return Pad(g, x, pad.Padding, path);
            case SeSandglassBlock block:
                return SqueezeExciteBlock(g, block, x, path);
            case SandglassBlock block:
                return IdentityShortcut(g, x, Emit(g, block.Layers, x, path + ".conv"), block.ShortcutChannels, block.Spec.OutChannels, path);
            case InvertedResidual block:
                var y = Emit(g, block.Layers, x, path + ".conv");
                return block.HasShortcut ? g.Node("Add", path + ".add", [y, x]) : y;
            case AdaptiveAvgPool2d pool:
                if (pool.output_size.Any(s => s != 1))
                    throw new NotSupportedException($"ONNX export supports AdaptiveAvgPool2d only to 1×1 (GlobalAveragePool); '{path}' pools to [{string.Join(", ", pool.output_size)}].");
                return g.Node("GlobalAveragePool", path, [x]);
            case Linear linear:
                var inputs = new List<string> { x, g.Weight(path + ".weight", linear.weight) };
                if (linear.bias is { } bias) inputs.Add(g.Weight(path + ".bias", bias));
                return g.Node("Gemm", path, inputs, Int("transB", 1));
            default:
                throw new NotSupportedException(
                    $"ONNX export does not support the module '{path}' of type {module.GetType().Name}. " +
                    "Supported: Conv2d, Identity, ReLU6, SiLU, StaticZeroPad, Sequential, SandglassBlock, SeSandglassBlock, InvertedResidual, AdaptiveAvgPool2d(1), Dropout, Linear (BatchNorm is folded first).");
        }
    }

    /// <summary>x · sigmoid(x).</summary>
    private static string Swish(OnnxGraphBuilder g, string x, string path) =>
        g.Node("Mul", path + ".mul", [x, g.Node("Sigmoid", path + ".sigmoid", [x])]);

    /// <summary>Zero padding (left, right, top, bottom) of an N×C×H×W value; ONNX lists all begins, then all ends.</summary>
    private static string Pad(OnnxGraphBuilder g, string x, IReadOnlyList<long> padding, string path) =>
        g.Node("Pad", path, [x, g.Int64s(0, 0, padding[2], padding[0], 0, 0, padding[3], padding[1])]);

    /// <summary>
    /// MobileNeXt†'s block: its layers with the stride-2 conv's padding in front, squeeze-excite (GlobalAveragePool →
    /// conv → swish → conv → sigmoid → multiply) and the residual add.
    /// </summary>
    private static string SqueezeExciteBlock(OnnxGraphBuilder g, SeSandglassBlock block, string x, string path)
    {
        var y = x;
        for (int i = 0; i < block.Layers.Count; i++)
        {
            if (i == block.Strided.Index) y = Pad(g, y, block.Strided.Padding, $"{path}.features.{i}.pad");
            y = Emit(g, (nn.Module)block.Layers[i], y, $"{path}.features.{i}");
        }
        var (reduce, expand) = block.SqueezeExcite;
        var gate = g.Node("GlobalAveragePool", path + ".se.pool", [y]);
        gate = Swish(g, Conv(g, reduce, gate, path + "._se_reduce"), path + ".se.swish");
        gate = g.Node("Sigmoid", path + ".se.sigmoid", [Conv(g, expand, gate, path + "._se_expand")]);
        y = g.Node("Mul", path + ".se.mul", [y, gate]);
        return block.Spec.HasResidual ? g.Node("Add", path + ".add", [y, x]) : y;
    }

    private static string Conv(OnnxGraphBuilder g, Conv2d conv, string x, string path)
    {
        if (conv.padding is not { } padding || conv.padding_mode != PaddingModes.Zeros)
            throw new NotSupportedException($"ONNX export supports convs with explicit zero padding only; '{path}' uses {conv.padding_type?.ToString() ?? conv.padding_mode.ToString()} padding.");
        var inputs = new List<string> { x, g.Weight(path + ".weight", conv.weight) };
        if (conv.bias is { } bias) inputs.Add(g.Weight(path + ".bias", bias));
        return g.Node("Conv", path, inputs,
            Ints("kernel_shape", conv.kernel_size),
            Ints("strides", conv.stride),
            Ints("pads", padding.Concat(padding)), // ONNX: all begins, then all ends
            Ints("dilations", conv.dilation),
            Int("group", conv.groups));
    }

    /// <summary>
    /// Eq. 4 with standard operators: the first <paramref name="k"/> of <paramref name="channels"/> channels of the
    /// block's output <paramref name="y"/> receive the input <paramref name="x"/>; the rest pass unchanged.
    /// </summary>
    private static string IdentityShortcut(OnnxGraphBuilder g, string x, string y, int k, int channels, string path)
    {
        if (k == 0) return y;
        if (k == channels) return g.Node("Add", path + ".add", [y, x]);
        string axes = g.Int64s(1), zero = g.Int64s(0), split = g.Int64s(k), end = g.Int64s(channels);
        var head = g.Node("Slice", path + ".shortcut.head", [y, zero, split, axes]);
        var identity = g.Node("Slice", path + ".shortcut.identity", [x, zero, split, axes]);
        var sum = g.Node("Add", path + ".add", [head, identity]);
        var tail = g.Node("Slice", path + ".shortcut.tail", [y, split, end, axes]);
        return g.Node("Concat", path + ".shortcut.concat", [sum, tail], Int("axis", 1));
    }
}
