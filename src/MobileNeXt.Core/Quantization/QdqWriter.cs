using System.Globalization;
using Onnx;
using static MobileNeXt.Export.OnnxGraphBuilder;

namespace MobileNeXt.Quantization;

/// <summary>
/// Rewrites an FP32 graph of the exporter into a QDQ graph — the form ONNX Runtime fuses into integer kernels
/// (QLinearConv, QLinearAdd, QLinearConcat, QLinearGlobalAveragePool, QGemm). Facts of the layout it writes (sources:
/// ONNX Runtime's <c>quantization/</c> tool, <c>qdq_selector_action_transformer.cc</c>, <c>qlinearconv.cc</c>):
/// <list type="bullet">
/// <item>Every float value a node produces, and the graph input, gets QuantizeLinear → DequantizeLinear (uint8,
/// asymmetric: scale = (hi − lo)/255, zero point = round(−lo/scale)); consumers read the DequantizeLinear. The graph's
/// output (the logits) stays float.</item>
/// <item>A Clip after a Conv (ReLU6) is removed: the Conv's quantizer takes the Clip's output range (lo = 0,
/// hi ≤ 6), so saturation does the clamping and the Conv → Q pair fuses.</item>
/// <item>Weights of Conv and Gemm: int8 initializers, symmetric ([−127, 127], zero point 0), per output channel on
/// axis 0, behind a DequantizeLinear (no QuantizeLinear). Biases: int32, scale exactly x_scale·w_scale[c] in float32.</item>
/// <item>Slice, Flatten and Pad keep their input's scale and zero point (ORT then drops their Q/DQ), and with
/// <see cref="Int8Options.ShareConcatScale"/> a Concat shares one with its inputs, so it copies bytes.</item>
/// </list>
/// </summary>
internal static class QdqWriter
{
    private static readonly HashSet<string> PassThrough = ["Slice", "Flatten", "Pad"];

    public static ModelProto Quantize(ModelProto fp32, CalibrationStatistics statistics, Int8Options options)
    {
        options.Validate();
        var model = fp32.Clone();
        var graph = model.Graph;
        var initializers = graph.Initializer.ToDictionary(i => i.Name);
        string input = graph.Input[0].Name;
        var outputs = graph.Output.Select(o => o.Name).ToHashSet();

        // 1. ReLU6 folded into the producing Conv's quantizer: the Conv now writes the Clip's output value.
        var nodes = graph.Node.ToList();
        var consumers = Consumers(nodes);
        var producer = nodes.ToDictionary(n => n.Output[0]);
        foreach (var clip in nodes.Where(n => n.OpType == "Clip").ToList())
        {
            if (producer.TryGetValue(clip.Input[0], out var conv) && conv.OpType == "Conv" && consumers[clip.Input[0]].Count == 1
                && clip.Input.Count > 1 && initializers.TryGetValue(clip.Input[1], out var lower) && OnnxTensors.Floats(lower) is [0f])
            {
                conv.Output[0] = clip.Output[0];
                nodes.Remove(clip);
            }
        }
        consumers = Consumers(nodes);

        // 2. Values that share quantization parameters.
        var groups = new UnionFind();
        foreach (var node in nodes)
        {
            if (PassThrough.Contains(node.OpType)) groups.Union(node.Input[0], node.Output[0]);
            if (node.OpType == "Concat" && options.ShareConcatScale)
                foreach (var x in node.Input) groups.Union(x, node.Output[0]);
        }

        // 3. Activation quantizers: one per group, its range the union of its members' calibrated ranges.
        var activations = new List<string> { input };
        activations.AddRange(nodes.Select(n => n.Output[0]).Where(v => !outputs.Contains(v) && consumers.ContainsKey(v)));
        var ranges = new Dictionary<string, (float Lo, float Hi)>();
        foreach (var value in activations)
        {
            var (lo, hi) = statistics.Range(value, options.Method, options.Percentile);
            string root = groups.Find(value);
            ranges[root] = ranges.TryGetValue(root, out var r) ? (Math.Min(r.Lo, lo), Math.Max(r.Hi, hi)) : (lo, hi);
        }
        var parameters = new Dictionary<string, (string Scale, string Zero, float ScaleValue)>();
        (string Scale, string Zero, float ScaleValue) ParametersOf(string value)
        {
            string root = groups.Find(value);
            if (!parameters.TryGetValue(root, out var p))
            {
                var (scale, zero) = ActivationParameters(ranges[root].Lo, ranges[root].Hi);
                p = ($"{root}_scale", $"{root}_zero_point", scale);
                graph.Initializer.Add(OnnxTensors.Float(p.Scale, [scale]));
                graph.Initializer.Add(OnnxTensors.Uint8(p.Zero, [zero]));
                parameters[root] = p;
            }
            return p;
        }

        // 4. The new node list: weights' DequantizeLinear before their node, each activation's Q → DQ after its producer.
        var rewritten = new List<NodeProto>();
        var dequantized = activations.ToDictionary(v => v, v => $"{v}_dequantized");
        void QuantizeActivation(string value)
        {
            var (scale, zero, _) = ParametersOf(value);
            rewritten.Add(Node("QuantizeLinear", $"{value}_QuantizeLinear", [value, scale, zero], $"{value}_quantized"));
            rewritten.Add(Node("DequantizeLinear", $"{value}_DequantizeLinear", [$"{value}_quantized", scale, zero], dequantized[value]));
        }
        QuantizeActivation(input);
        foreach (var node in nodes)
        {
            for (int i = 0; i < node.Input.Count; i++)
                if (dequantized.TryGetValue(node.Input[i], out var dq)) node.Input[i] = dq;
            if (node.OpType is "Conv" or "Gemm")
            {
                int axis = node.OpType == "Gemm" && Attribute(node, "transB") == 0 ? 1 : 0;
                string x = node.Input[0].EndsWith("_dequantized", StringComparison.Ordinal) ? node.Input[0][..^"_dequantized".Length]
                    : throw new InvalidOperationException($"The input of '{node.Name}' is not quantized.");
                float inputScale = ParametersOf(x).ScaleValue;
                bool hasBias = node.Input.Count > 2 && node.Input[2].Length > 0;
                var bias = hasBias ? OnnxTensors.Floats(initializers[node.Input[2]]) : null;
                var weightScales = QuantizeWeight(graph, initializers, node, axis, options, rewritten, bias, inputScale);
                if (hasBias) QuantizeBias(graph, initializers, node, inputScale, weightScales, rewritten);
            }
            rewritten.Add(node);
            if (dequantized.ContainsKey(node.Output[0])) QuantizeActivation(node.Output[0]);
        }
        graph.Node.Clear();
        graph.Node.Add(rewritten);
        // The removed Clips' bounds are read by nobody now.
        var used = rewritten.SelectMany(n => n.Input).ToHashSet();
        foreach (var unused in graph.Initializer.Where(i => !used.Contains(i.Name)).ToList()) graph.Initializer.Remove(unused);
        model.MetadataProps.Add(new StringStringEntryProto
        {
            Key = "mobilenext.quantization",
            Value = string.Create(CultureInfo.InvariantCulture,
                $"QDQ INT8: uint8 asymmetric activations ({options.Method}{(options.Method == CalibrationMethod.Percentile ? $" {options.Percentile}" : "")}, {statistics.Images} images), " +
                $"int8 symmetric {(options.PerChannel ? "per-channel" : "per-tensor")} weights{(options.ReduceRange ? " (7-bit)" : "")}, int32 biases"),
        });
        return model;
    }

    /// <summary>uint8 scale and zero point of [lo, hi] widened to contain 0 (ONNX Runtime's <c>compute_scale_zp</c>).</summary>
    internal static (float Scale, byte Zero) ActivationParameters(float lo, float hi)
    {
        lo = Math.Min(lo, 0);
        hi = Math.Max(hi, 0);
        float scale = (hi - lo) / 255f;
        if (scale < 1.17549435e-38f) return (1f, 0); // an all-zero value: any scale is exact
        return (scale, (byte)Math.Clamp(Math.Round(-lo / scale, MidpointRounding.ToEven), 0, 255));
    }

    /// <summary>Replaces the float weight of <paramref name="node"/> by int8 + DequantizeLinear (same value name); returns the scales.</summary>
    private static float[] QuantizeWeight(GraphProto graph, Dictionary<string, TensorProto> initializers, NodeProto node, int axis,
        Int8Options options, List<NodeProto> rewritten, float[]? bias, float inputScale)
    {
        string name = node.Input[1];
        if (!initializers.TryGetValue(name, out var weight) || weight.DataType != (int)TensorProto.Types.DataType.Float)
            throw new NotSupportedException($"'{node.Name}' has no float weight initializer to quantize.");
        var values = OnnxTensors.Floats(weight);
        var dims = weight.Dims.ToArray();
        int qmax = options.ReduceRange ? 64 : 127;
        int channels = options.PerChannel ? (int)dims[axis] : 1;
        long inner = dims.Skip(axis + 1).Aggregate(1L, (a, b) => a * b);
        int ChannelOf(long index) => options.PerChannel ? (int)(index / inner % dims[axis]) : 0;
        var absmax = new float[channels];
        for (long i = 0; i < values.Length; i++) absmax[ChannelOf(i)] = Math.Max(absmax[ChannelOf(i)], Math.Abs(values[i]));
        // Symmetric: scale = 2·absmax / (qmax − qmin) with qmin = −qmax (ORT's compute_scale_zp); an all-zero channel gets 1.
        var scales = absmax.Select(a => a == 0 ? 1f : 2f * a / (2 * qmax)).ToArray();
        // The int32 bias b / (x_scale·w_scale) must fit: where it would not (a near-constant input, e.g. squeeze-excite
        // of an untrained net), widen that channel's weight scale until it does, as ONNX Runtime's quantizer does
        // (quant_utils / base_quantizer: adjust the weight scale for an int32 bias), keeping 2¹⁰ of headroom.
        if (bias is not null)
            for (int c = 0; c < bias.Length; c++)
            {
                int k = options.PerChannel ? c : 0;
                float needed = (float)(Math.Abs(bias[c]) / ((double)inputScale * (1 << 21)));
                if (scales[k] < needed) scales[k] = needed;
            }
        var q = new sbyte[values.Length];
        for (long i = 0; i < values.Length; i++)
            q[i] = (sbyte)Math.Clamp(MathF.Round(values[i] / scales[ChannelOf(i)], MidpointRounding.ToEven), -qmax, qmax);

        graph.Initializer.Remove(weight);
        graph.Initializer.Add(OnnxTensors.Int8($"{name}_quantized", q, dims));
        long[] parameterDims = options.PerChannel ? [channels] : [];
        graph.Initializer.Add(OnnxTensors.Float($"{name}_scale", scales, parameterDims));
        graph.Initializer.Add(OnnxTensors.Int8($"{name}_zero_point", new sbyte[channels], parameterDims));
        var dq = Node("DequantizeLinear", $"{name}_DequantizeLinear", [$"{name}_quantized", $"{name}_scale", $"{name}_zero_point"], name);
        if (options.PerChannel) dq.Attribute.Add(Int("axis", axis));
        rewritten.Add(dq);
        return scales;
    }

    /// <summary>int32 bias with scale x_scale·w_scale[c] (float32, exactly the product ORT's fusion compares against).</summary>
    private static void QuantizeBias(GraphProto graph, Dictionary<string, TensorProto> initializers, NodeProto node, float inputScale,
        float[] weightScales, List<NodeProto> rewritten)
    {
        string name = node.Input[2];
        var bias = initializers[name];
        var values = OnnxTensors.Floats(bias);
        var scales = values.Select((_, c) => inputScale * weightScales[weightScales.Length == 1 ? 0 : c]).ToArray();
        var q = new int[values.Length];
        for (int c = 0; c < values.Length; c++)
        {
            double r = Math.Round((double)(values[c] / scales[c]), MidpointRounding.ToEven);
            if (r > int.MaxValue || r < int.MinValue)
                throw new InvalidOperationException($"The bias of '{node.Name}' channel {c} ({values[c]}) does not fit int32 at scale {scales[c]}: the layer's input or weight range is degenerate.");
            q[c] = (int)r;
        }
        graph.Initializer.Remove(bias);
        graph.Initializer.Add(OnnxTensors.Int32($"{name}_quantized", q, values.Length));
        graph.Initializer.Add(OnnxTensors.Float($"{name}_scale", scales, values.Length));
        graph.Initializer.Add(OnnxTensors.Int32($"{name}_zero_point", new int[values.Length], values.Length));
        rewritten.Add(Node("DequantizeLinear", $"{name}_DequantizeLinear", [$"{name}_quantized", $"{name}_scale", $"{name}_zero_point"], name, Int("axis", 0)));
    }

    private static NodeProto Node(string op, string name, string[] inputs, string output, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = name };
        node.Input.Add(inputs);
        node.Output.Add(output);
        node.Attribute.Add(attributes);
        return node;
    }

    private static long Attribute(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name)?.I ?? 0;

    private static Dictionary<string, List<NodeProto>> Consumers(List<NodeProto> nodes)
    {
        var map = new Dictionary<string, List<NodeProto>>();
        foreach (var node in nodes)
            foreach (var x in node.Input)
                (map.TryGetValue(x, out var list) ? list : map[x] = []).Add(node);
        return map;
    }

    private sealed class UnionFind
    {
        private readonly Dictionary<string, string> parent = [];

        public string Find(string x)
        {
            if (!parent.TryGetValue(x, out var p) || p == x) return x;
            return parent[x] = Find(p);
        }

        public void Union(string a, string b)
        {
            string ra = Find(a), rb = Find(b);
            if (ra != rb) parent[rb] = ra;
        }
    }
}
