using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using MobileNeXt.Interop;
using MobileNeXt.Models;
using MobileNeXt.Quantization;
using Onnx;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Core.Tests.Quantization;

/// <summary>
/// The INT8 export held to ONNX Runtime: the graph it optimizes (every Conv a QLinearConv), the layout of weights and
/// biases its fused kernels need (int8-ptq.md §2, §5), and the TorchSharp simulation against ORT's own unfused run.
/// </summary>
public class Int8ExportTests
{
    /// <summary>The released network at width 0.5 (reference weights), calibrated on 8 variants of the reference input.</summary>
    private static (ImageClassifier Model, CalibrationStatistics Statistics) Reference(double alpha)
    {
        var model = ModelRegistry.Create("mobilenext_050", new ModelCreateOptions { IdentityMultiplier = alpha });
        ModelWeights.Load(model, Path.Combine(TestSupport.ReferenceDir, "state_dict.pt"));
        model.eval();
        return (model, Int8Calibrator.Calibrate(model, CalibrationBatches()));
    }

    private static List<Tensor> CalibrationBatches()
    {
        var x = TestSupport.Vectors["input"];
        return [x, x.flip(3), x.roll(17, 2), x.roll(-31, 3)];
    }

    private static readonly Lazy<(ImageClassifier Model, CalibrationStatistics Statistics)> Full = new(() => Reference(1.0));
    private static readonly Lazy<(ImageClassifier Model, CalibrationStatistics Statistics)> Half = new(() => Reference(0.5));

    private static (ImageClassifier Model, CalibrationStatistics Statistics) Get(double alpha) => alpha == 1 ? Full.Value : Half.Value;

    private static ModelProto Read(string path) => ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));

    private static int ConvModules(ImageClassifier model) => model.modules().OfType<Conv2d>().Count();

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.5)]
    public void Should_run_every_conv_of_the_released_network_as_a_QLinearConv_in_onnx_runtime(double alpha)
    {
        var (model, statistics) = Get(alpha);
        string path = Path.Combine(TestSupport.TempDir(), "int8.onnx");
        var report = Int8Exporter.Export(model, statistics, path)!;

        report.Convs.Should().Be(ConvModules(model), "the INT8 graph has one Conv per conv of the network");
        report.QLinearConvs.Should().Be(report.Convs, "ORT fuses every DQ → Conv → Q group, the 3-channel stem included (im2col + u8s8 GEMM)");
        report.FloatConvs.Should().BeEmpty();
        report.FloatOperators.Should().BeEmpty("Add, Concat, GlobalAveragePool and Gemm all have integer kernels");
        int shortcuts = model.modules().OfType<MobileNeXt.Layers.SandglassBlock>().Count(b => b.ShortcutChannels > 0);
        report.Operators.GetValueOrDefault("QLinearAdd").Should().Be(shortcuts);
        report.Operators.GetValueOrDefault("QLinearConcat").Should().Be(alpha < 1 ? shortcuts : 0);
        report.Operators.GetValueOrDefault("QGemm").Should().Be(1);
        File.Exists(Int8Exporter.StatisticsPath(path)).Should().BeTrue("the statistics are saved beside the model");
        CalibrationStatistics.Load(Int8Exporter.StatisticsPath(path)).Tensors.Count.Should().Be(statistics.Tensors.Count);
    }

    [Fact]
    public void Should_write_symmetric_per_channel_int8_weights_and_int32_biases_at_exactly_the_input_times_weight_scale()
    {
        var (model, statistics) = Get(1.0);
        var graph = Int8Exporter.Build(model, statistics, null).Graph;
        var init = graph.Initializer.ToDictionary(i => i.Name);
        var producer = graph.Node.ToDictionary(n => n.Output[0]);
        int checkedConvs = 0;
        foreach (var conv in graph.Node.Where(n => n.OpType is "Conv" or "Gemm"))
        {
            var weightDq = producer[conv.Input[1]];
            var weight = init[weightDq.Input[0]];
            weight.DataType.Should().Be((int)TensorProto.Types.DataType.Int8);
            var weightScale = OnnxTensors.Floats(init[weightDq.Input[1]]);
            weightScale.Length.Should().Be((int)weight.Dims[0], "one scale per output channel");
            init[weightDq.Input[2]].RawData.ToByteArray().Should().OnlyContain(b => b == 0, "symmetric weights: zero point 0");
            weight.RawData.ToByteArray().Select(b => (sbyte)b).Should().OnlyContain(v => v >= -127, "the symmetric range is [−127, 127]");

            var inputScale = OnnxTensors.Floats(init[producer[conv.Input[0]].Input[1]])[0];
            var biasDq = producer[conv.Input[2]];
            init[biasDq.Input[0]].DataType.Should().Be((int)TensorProto.Types.DataType.Int32);
            var biasScale = OnnxTensors.Floats(init[biasDq.Input[1]]);
            for (int c = 0; c < biasScale.Length; c++)
                BitConverter.SingleToInt32Bits(biasScale[c]).Should().Be(BitConverter.SingleToInt32Bits(inputScale * weightScale[c]),
                    $"ORT fuses only when the bias scale is x_scale·w_scale exactly ({conv.Name}, channel {c})");
            checkedConvs++;
        }
        checkedConvs.Should().Be(ConvModules(model) + 1);
    }

    [Fact]
    public void Should_fold_relu6_into_the_convs_quantizer()
    {
        var (model, statistics) = Get(1.0);
        var fp32 = MobileNeXt.Export.OnnxExporter.BuildModel(model, null).Graph;
        var clips = fp32.Node.Where(n => n.OpType == "Clip").Select(n => n.Output[0]).ToList();
        clips.Should().NotBeEmpty();
        var graph = Int8Exporter.Build(model, statistics, null).Graph;
        graph.Node.Should().NotContain(n => n.OpType == "Clip", "saturation at the Q does the clamping");
        var init = graph.Initializer.ToDictionary(i => i.Name);
        foreach (var value in clips)
        {
            var q = graph.Node.Single(n => n.OpType == "QuantizeLinear" && n.Input[0] == value);
            float scale = OnnxTensors.Floats(init[q.Input[1]])[0];
            init[q.Input[2]].RawData[0].Should().Be(0, "ReLU6's output starts at 0: zero point 0");
            (scale * 255).Should().BeLessThanOrEqualTo(6.0001f, "the range never exceeds ReLU6's");
            float max = statistics.Tensors[value].Max;
            (scale * 255).Should().BeApproximately(max, 1e-5f, "MinMax: the Clip output's observed maximum");
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Should_give_the_partial_shortcut_one_scale_only_when_asked(bool share)
    {
        var (model, statistics) = Get(0.5);
        var graph = Int8Exporter.Build(model, statistics, new Int8Options { ShareConcatScale = share }).Graph;
        var producer = graph.Node.ToDictionary(n => n.Output[0]);
        var concats = graph.Node.Where(n => n.OpType == "Concat").ToList();
        concats.Should().HaveCount(12);
        foreach (var concat in concats)
        {
            var scales = concat.Input.Select(x => producer[x].Input[1]).Append(graph.Node.Single(n => n.OpType == "QuantizeLinear" && n.Input[0] == concat.Output[0]).Input[1]).Distinct().ToList();
            if (share) scales.Should().ContainSingle("inputs and output share one scale, so ORT's Concat copies bytes");
            else scales.Should().HaveCountGreaterThan(1);
        }
    }

    [Fact]
    public void Should_quantize_weights_per_tensor_when_asked()
    {
        var (model, statistics) = Get(1.0);
        var graph = Int8Exporter.Build(model, statistics, new Int8Options { PerChannel = false }).Graph;
        var weightDqs = graph.Node.Where(n => n.OpType == "DequantizeLinear" && n.Output[0].EndsWith(".weight", StringComparison.Ordinal)).ToList();
        weightDqs.Should().HaveCount(ConvModules(model) + 1);
        var init = graph.Initializer.ToDictionary(i => i.Name);
        weightDqs.Should().OnlyContain(n => init[n.Input[1]].Dims.Count == 0 && n.Attribute.Count == 0, "one scalar scale, no axis");
    }

    /// <summary>
    /// Layer by layer, each node of the TorchSharp simulation fed ONNX Runtime's own inputs (ORT_DISABLE_ALL, every Q/DQ
    /// as written) gives ORT's quantized outputs: equal but for rare 1-step flips where float convs of the two libraries
    /// round a value on opposite sides of a level. End to end such flips compound through 74 layers, so the layer-local
    /// comparison is the one that pins the simulation.
    /// </summary>
    [Theory]
    [InlineData(1.0)]
    [InlineData(0.5)]
    public void Should_compute_every_quantized_value_as_onnx_runtime_does(double alpha)
    {
        var (model, statistics) = Get(alpha);
        var proto = Int8Exporter.Build(model, statistics, null);
        using var x = TestSupport.Vectors["input"].contiguous();
        var ort = UnfusedQuantizedValues(proto, x);

        long elements = 0, flips = 0;
        float worst = 0;
        using (var runner = new OnnxGraphRunner(proto))
        using (var _ = runner.Run(x, (name, mine) =>
        {
            if (!ort.TryGetValue(name, out var theirs)) return;
            using var d = (mine - theirs).abs();
            worst = Math.Max(worst, d.max().item<float>());
            flips += d.gt(0).sum().item<long>();
            elements += d.numel();
        }, observeQuantizers: true, substitute: name => ort.GetValueOrDefault(name))) { }

        elements.Should().BeGreaterThan(1_000_000);
        worst.Should().BeLessThanOrEqualTo(1, "one quantization step at most");
        ((double)flips / elements).Should().BeLessThan(1e-4, $"flips are rare ({flips} of {elements})");
        foreach (var t in ort.Values) t.Dispose();
    }

    /// <summary>Every quantized (uint8) value of <paramref name="proto"/> on <paramref name="x"/>, from ONNX Runtime with optimizations off.</summary>
    private static Dictionary<string, (byte[] Data, long[] Shape)> UnfusedBytes(ModelProto proto, Tensor x)
    {
        proto = proto.Clone();
        var quantized = proto.Graph.Node.Where(n => n.OpType == "QuantizeLinear").Select(n => n.Output[0]).ToList();
        foreach (var name in quantized) proto.Graph.Output.Add(new ValueInfoProto { Name = name });
        string path = Path.Combine(TestSupport.TempDir(), "all-outputs.onnx");
        File.WriteAllBytes(path, proto.ToByteArray());
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        using var session = new InferenceSession(path, options);
        using var value = OrtValue.CreateTensorValueFromMemory(x.data<float>().ToArray(), x.shape);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, ["input"], [value], quantized);
        return quantized.Select((name, i) => (name, outputs[i]))
            .ToDictionary(p => p.name, p => (p.Item2.GetTensorDataAsSpan<byte>().ToArray(), p.Item2.GetTensorTypeAndShape().Shape));
    }

    private static Dictionary<string, Tensor> UnfusedQuantizedValues(ModelProto proto, Tensor x) =>
        UnfusedBytes(proto, x).ToDictionary(kv => kv.Key, kv => tensor(kv.Value.Data.Select(b => (float)b).ToArray(), kv.Value.Shape));

    /// <summary>
    /// Each Conv as ONNX Runtime fuses it (one DQ → Conv → Q group in a model of its own, optimizations on: a
    /// QLinearConv with requantization in the kernel), fed the unfused run's quantized input of that layer, gives the
    /// unfused run's quantized output within one step — every layer of the released network.
    /// </summary>
    [Fact]
    public void Should_run_each_fused_conv_within_one_step_of_the_unfused_graph()
    {
        var (model, statistics) = Get(1.0);
        var proto = Int8Exporter.Build(model, statistics, null);
        using var x = TestSupport.Vectors["input"].contiguous();
        var unfused = UnfusedBytes(proto, x);
        var producer = proto.Graph.Node.ToDictionary(n => n.Output[0]);
        var init = proto.Graph.Initializer.ToDictionary(i => i.Name);
        long elements = 0, flips = 0;
        int worst = 0, convs = 0;
        foreach (var conv in proto.Graph.Node.Where(n => n.OpType == "Conv"))
        {
            var inputDq = producer[conv.Input[0]];
            var outputQ = proto.Graph.Node.Single(n => n.OpType == "QuantizeLinear" && n.Input[0] == conv.Output[0]);
            var nodes = new[] { inputDq, producer[conv.Input[1]], producer[conv.Input[2]], conv, outputQ };
            var single = new ModelProto { IrVersion = proto.IrVersion, Graph = new GraphProto { Name = conv.Name } };
            single.OpsetImport.Add(proto.OpsetImport);
            single.Graph.Node.Add(nodes.Select(n => n.Clone()));
            single.Graph.Initializer.Add(nodes.SelectMany(n => n.Input).Where(init.ContainsKey).Distinct().Select(n => init[n]));
            string inputName = inputDq.Input[0];
            var (data, shape) = unfused[inputName];
            single.Graph.Input.Add(Uint8Value(inputName, shape));
            single.Graph.Output.Add(Uint8Value(outputQ.Output[0], unfused[outputQ.Output[0]].Shape));
            string path = Path.Combine(TestSupport.TempDir(), "conv.onnx");
            File.WriteAllBytes(path, single.ToByteArray());
            Int8Exporter.InspectFusion(path).QLinearConvs.Should().Be(1, $"{conv.Name} runs fused");
            using var session = new InferenceSession(path, new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL });
            using var value = OrtValue.CreateTensorValueFromMemory(data, shape);
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, [inputName], [value], [outputQ.Output[0]]);
            var fused = outputs[0].GetTensorDataAsSpan<byte>();
            var expected = unfused[outputQ.Output[0]].Data;
            for (int i = 0; i < expected.Length; i++)
            {
                int d = Math.Abs(fused[i] - expected[i]);
                worst = Math.Max(worst, d);
                if (d != 0) flips++;
            }
            elements += expected.Length;
            convs++;
        }
        convs.Should().Be(ConvModules(model));
        worst.Should().BeLessThanOrEqualTo(1, "the fused kernel requantizes in fixed point; the reference in float: at most one step apart");
        ((double)flips / elements).Should().BeLessThan(1e-3, $"{flips} of {elements} values one step apart");
    }

    private static ValueInfoProto Uint8Value(string name, long[] shape)
    {
        var value = MobileNeXt.Export.OnnxGraphBuilder.FloatValue(name, shape.Cast<object>().ToArray());
        value.Type.TensorType.ElemType = (int)TensorProto.Types.DataType.Uint8;
        return value;
    }

    /// <summary>Every registry network quantizes with every Conv fused (untrained weights, 32×32 noise, MinMax).</summary>
    [Theory]
    [MemberData(nameof(RegistryNames))]
    public void Should_fuse_every_conv_of_every_registry_model(string name)
    {
        manual_seed(7); // reproducible weights: a failure names the model and can be rerun as it was
        using var model = ModelRegistry.Create(name, new ModelCreateOptions { NumClasses = 10 });
        model.eval();
        using var generator = new Generator(seed: 7);
        using var noise = randn([4, 3, 32, 32], generator: generator);
        var statistics = Int8Calibrator.Calibrate(model, [noise], histograms: false);
        string path = Path.Combine(TestSupport.TempDir(), $"{name}.onnx");
        var report = Int8Exporter.Export(model, statistics, path)!;
        report.Convs.Should().Be(ConvModules(model));
        report.AllConvsFused.Should().BeTrue();
        report.FloatOperators.Should().BeEmpty("squeeze-excite's Sigmoid and Mul run as QLinearSigmoid and QLinearMul too");
    }

    [Fact]
    public void Should_name_the_convs_onnx_runtime_leaves_in_float()
    {
        // The FP32 export has no Q/DQ, so every Conv stays float: the check that guards the INT8 export names them.
        var (model, _) = Get(1.0);
        string path = Path.Combine(TestSupport.TempDir(), "fp32.onnx");
        MobileNeXt.Export.OnnxExporter.Export(model, path);
        var report = Int8Exporter.InspectFusion(path);
        report.AllConvsFused.Should().BeFalse();
        report.QLinearConvs.Should().Be(0);
        report.FloatConvs.Should().HaveCount(ConvModules(model));
        report.FloatConvs.Should().Contain(n => n.StartsWith("features.", StringComparison.Ordinal), "ORT keeps the exporter's node names");
    }

    public static TheoryData<string> RegistryNames() => [.. ModelRegistry.Names];
}
