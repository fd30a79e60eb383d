using MobileNeXt.Layers;
using Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Quantization;

/// <summary>
/// Runs an ONNX graph written by this library (FP32 or QDQ INT8) with TorchSharp operators, node by node. It serves
/// calibration (every float value a node produces is handed to an observer) and simulated quantization
/// (<c>QuantizeLinear</c>/<c>DequantizeLinear</c> as fake-quant: round half to even, saturate, rescale, in float32 —
/// what ONNX Runtime computes with graph optimizations off).
/// </summary>
/// <remarks>
/// Hand-written: no .NET library executes an ONNX graph on libtorch (ONNX Runtime runs it, but not on TorchSharp
/// tensors or a CUDA libtorch). It supports the operators the exporter and the quantizer emit: Conv, Clip, Add, Mul,
/// Sigmoid, Slice, Concat, Pad, GlobalAveragePool, Flatten, Gemm, QuantizeLinear and DequantizeLinear.
/// </remarks>
internal sealed class OnnxGraphRunner : IDisposable
{
    private readonly GraphProto graph;
    private readonly Dictionary<string, Tensor> constants = [];
    private readonly Dictionary<string, long[]> integers = [];
    private readonly Dictionary<string, TensorProto.Types.DataType> elementTypes = [];

    public OnnxGraphRunner(ModelProto model)
    {
        graph = model.Graph;
        foreach (var init in graph.Initializer)
        {
            elementTypes[init.Name] = (TensorProto.Types.DataType)init.DataType;
            if (init.DataType == (int)TensorProto.Types.DataType.Int64) integers[init.Name] = OnnxTensors.Int64s(init);
            else constants[init.Name] = OnnxTensors.ToTensor(init);
        }
        foreach (var node in graph.Node)
        {
            if (!Supported.Contains(node.OpType))
                throw new NotSupportedException($"The graph's node '{node.Name}' is a {node.OpType}, which the TorchSharp runner does not execute. Supported: {string.Join(", ", Supported)}.");
        }
    }

    /// <summary>The operators this runner executes.</summary>
    public static readonly IReadOnlySet<string> Supported = new HashSet<string>
    {
        "Conv", "Clip", "Add", "Mul", "Sigmoid", "Slice", "Concat", "Pad", "GlobalAveragePool", "Flatten", "Gemm", "QuantizeLinear", "DequantizeLinear",
    };

    /// <summary>
    /// Runs the graph on <paramref name="input"/> (its single input) and returns its single output, a new tensor.
    /// <paramref name="observe"/>, when given, sees every value that a node other than a quantizer produces and the
    /// graph input, by name, while it is alive (it must not keep the tensor); with <paramref name="observeQuantizers"/>
    /// the quantizers' outputs too. <paramref name="substitute"/>, when it returns a tensor for a value (after the
    /// observer saw the computed one), replaces it for the nodes that follow: a layer-by-layer comparison with another
    /// runtime feeds each node that runtime's inputs.
    /// </summary>
    public Tensor Run(Tensor input, Action<string, Tensor>? observe = null, bool observeQuantizers = false, Func<string, Tensor?>? substitute = null)
    {
        using var scope = NewDisposeScope();
        var values = new Dictionary<string, Tensor>(constants) { [graph.Input[0].Name] = input };
        observe?.Invoke(graph.Input[0].Name, input);
        foreach (var node in graph.Node)
        {
            var y = Execute(node, values);
            if (observe is not null && (observeQuantizers || node.OpType is not ("QuantizeLinear" or "DequantizeLinear"))) observe(node.Output[0], y);
            values[node.Output[0]] = substitute?.Invoke(node.Output[0]) ?? y;
        }
        return values[graph.Output[0].Name].MoveToOuterDisposeScope();
    }

    private Tensor Execute(NodeProto node, Dictionary<string, Tensor> values)
    {
        Tensor In(int i) => values.TryGetValue(node.Input[i], out var t) ? t
            : throw new InvalidOperationException($"Node '{node.Name}' reads '{node.Input[i]}', which no earlier node produced.");
        bool Has(int i) => node.Input.Count > i && node.Input[i].Length > 0;
        switch (node.OpType)
        {
            case "Conv":
            {
                var pads = Ints(node, "pads") ?? [0, 0, 0, 0];
                var x = In(0);
                long[] padding = [pads[0], pads[1]];
                if (pads[0] != pads[2] || pads[1] != pads[3])
                {
                    x = nn.functional.pad(x, [pads[1], pads[3], pads[0], pads[2]]);
                    padding = [0, 0];
                }
                return nn.functional.conv2d(x, In(1), Has(2) ? In(2) : null, Ints(node, "strides") ?? [1, 1], padding,
                    Ints(node, "dilations") ?? [1, 1], Int(node, "group") ?? 1);
            }
            case "Clip":
            {
                // Scalars held to the end of the call: a temporary one can be finalized by a GC that another thread
                // (a data worker) starts while libtorch still reads it ("toFloat" failures)
                using Scalar low = Has(1) ? In(1).item<float>() : float.NegativeInfinity, high = Has(2) ? In(2).item<float>() : float.PositiveInfinity;
                return In(0).clamp(low, high);
            }
            case "Add":
                return In(0).add(In(1), KeptScalars.One); // `+` would pass libtorch a temporary alpha Scalar
            case "Mul":
                return In(0) * In(1);
            case "Sigmoid":
                return In(0).sigmoid();
            case "Slice":
            {
                var starts = integers[node.Input[1]];
                var ends = integers[node.Input[2]];
                var axes = Has(3) ? integers[node.Input[3]] : Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
                var y = In(0);
                for (int i = 0; i < starts.Length; i++)
                {
                    long size = y.shape[axes[i]];
                    long start = Math.Clamp(starts[i] < 0 ? starts[i] + size : starts[i], 0, size);
                    long end = Math.Clamp(ends[i] < 0 ? ends[i] + size : ends[i], 0, size);
                    y = y.narrow(axes[i], start, end - start);
                }
                return y;
            }
            case "Concat":
                return cat(node.Input.Select(name => values[name]).ToArray(), Int(node, "axis") ?? throw new InvalidOperationException($"Concat '{node.Name}' has no axis."));
            case "Pad":
            {
                var p = integers[node.Input[1]]; // begins of N, C, H, W, then ends
                return nn.functional.pad(In(0), [p[3], p[7], p[2], p[6]]);
            }
            case "GlobalAveragePool":
                return In(0).mean([2, 3], keepdim: true);
            case "Flatten":
                return In(0).flatten(Int(node, "axis") ?? 1);
            case "Gemm":
            {
                if ((Int(node, "transA") ?? 0) != 0) throw new NotSupportedException($"Gemm '{node.Name}' with transA is not supported.");
                var w = (Int(node, "transB") ?? 0) != 0 ? In(1) : In(1).t();
                return nn.functional.linear(In(0), w, Has(2) ? In(2) : null);
            }
            case "QuantizeLinear":
            {
                var (scale, zero) = Broadcast(In(0), In(1), In(2), Int(node, "axis") ?? 1);
                var (qmin, qmax) = OnnxTensors.Range(ZeroPointType(node));
                using Scalar low = qmin, high = qmax;
                return (In(0) / scale).round().add_(zero, KeptScalars.One).clamp_(low, high);
            }
            case "DequantizeLinear":
            {
                var (scale, zero) = Broadcast(In(0), In(1), Has(2) ? In(2) : zeros(1), Int(node, "axis") ?? 1);
                return (In(0) - zero) * scale;
            }
            default:
                throw new NotSupportedException($"Node '{node.Name}': {node.OpType} is not supported.");
        }
    }

    /// <summary>The zero point's element type names the quantized type (uint8 when there is none, as ONNX says).</summary>
    private TensorProto.Types.DataType ZeroPointType(NodeProto node) =>
        node.Input.Count > 2 && elementTypes.TryGetValue(node.Input[2], out var type) ? type : TensorProto.Types.DataType.Uint8;

    /// <summary>Per-tensor parameters as they are; per-axis ones shaped to broadcast along <paramref name="axis"/> of <paramref name="x"/>.</summary>
    private static (Tensor Scale, Tensor Zero) Broadcast(Tensor x, Tensor scale, Tensor zero, long axis)
    {
        if (scale.dim() == 0 || scale.numel() == 1 && x.dim() == 0) return (scale, zero.reshape(scale.shape));
        if (axis < 0) axis += x.dim();
        var shape = Enumerable.Repeat(1L, (int)x.dim()).ToArray();
        shape[axis] = scale.numel();
        return (scale.reshape(shape), zero.reshape(shape));
    }

    private static long[]? Ints(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name)?.Ints.ToArray();

    private static long? Int(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name)?.I;

    public void Dispose()
    {
        foreach (var t in constants.Values) t.Dispose();
        constants.Clear();
    }
}
