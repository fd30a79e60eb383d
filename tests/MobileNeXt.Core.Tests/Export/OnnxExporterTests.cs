using Google.Protobuf;
using MobileNeXt.Architecture;
using MobileNeXt.Export;
using MobileNeXt.Interop;
using MobileNeXt.Models;
using Onnx;
using TorchSharp;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MobileNeXt.Core.Tests.Export;

/// <summary>
/// An exported file, run by ONNX Runtime, gives TorchSharp's eval-mode logits (issue 4: within 1e-4), and its graph
/// is the documented one: opset 17, no BatchNorm, ReLU6 as Clip, a dynamic batch dimension.
/// </summary>
public class OnnxExporterTests(ITestOutputHelper output)
{
    private const float Tolerance = 1e-4f;
    private const int SmallInput = 64; // small networks only need the smallest size their five strides keep meaningful

    [Theory]
    [InlineData(1.0, "1")]
    [InlineData(0.5, "1/2")]
    [InlineData(1.0 / 6, "1/6")]
    public void Should_give_the_released_weights_logits_at_every_identity_multiplier(double alpha, string label)
    {
        // Given the released width-0.5 weights (non-trivial BatchNorm statistics) at α
        using var model = new MobileNeXtNet(new MobileNeXtOptions { Width = 0.5, IdentityMultiplier = alpha });
        ModelWeights.Load(model, Path.Combine(TestSupport.ReferenceDir, "state_dict.pt"));

        // When it is exported at 224² and run on the reference input
        // Then ONNX Runtime gives TorchSharp's logits
        AssertSameLogits(model, TestSupport.Vectors["input"], $"mobilenext w0.5 released weights, α = {label}");
    }

    [Theory]
    [InlineData("mobilenext_100", 1.0)]
    [InlineData("mobilenext_100", 0.5)]
    [InlineData("mobilenetv2_050", 1.0)]
    [InlineData("mobilenext_uniform_035", 1.0 / 6)]
    [InlineData("mobilenext_035", 0.0)]
    [InlineData("mobilenext_se_100", 1.0)]
    [InlineData("mobilenext_se_110", 1.0)]
    [InlineData("mobilenext_fig4a_100", 0.5)] // Table 10's variants and Sec. 4.4's ablations: layouts of the same block
    [InlineData("mobilenext_fig4b_100", 1.0)]
    [InlineData("mobilenext_fig4c_100", 1.0)] // a strided 1×1 conv, narrow shortcuts, MobileNetV2's 1×1 head conv
    [InlineData("mobilenext_narrow_shortcut_100", 1.0)]
    [InlineData("mobilenext_relu6_residual_100", 1.0 / 6)]
    public void Should_give_the_logits_of_every_family(string name, double alpha)
    {
        using var model = ModelRegistry.Create(name, new ModelCreateOptions { NumClasses = 10, IdentityMultiplier = alpha });
        RandomizeBatchNorm(model, seed: 7);
        using var x = randn(2, 3, SmallInput, SmallInput, generator: new Generator(3));
        AssertSameLogits(model, x, $"{name}, α = {alpha:0.###}, random weights");
    }

    [Fact]
    public void Should_give_the_pooled_features_when_the_model_has_no_classifier()
    {
        using var model = ModelRegistry.Create("mobilenext_035", new ModelCreateOptions { NumClasses = 0 });
        RandomizeBatchNorm(model, seed: 5);
        using var x = randn(2, 3, SmallInput, SmallInput, generator: new Generator(4));
        var graph = AssertSameLogits(model, x, "mobilenext_035, no classifier");
        graph.Graph.Output[0].Type.TensorType.Shape.Dim[1].DimValue.Should().Be(model.NumFeatures);
        graph.Graph.Node.Should().NotContain(n => n.OpType == "Gemm");
    }

    [Fact]
    public void Should_run_batches_of_one_and_three_from_the_same_file()
    {
        // Given one exported file
        using var model = ModelRegistry.Create("mobilenext_035", new ModelCreateOptions { NumClasses = 10, IdentityMultiplier = 0.5 });
        RandomizeBatchNorm(model, seed: 9);
        model.eval();
        string path = Path.Combine(TestSupport.TempDir(), "model.onnx");
        OnnxExporter.Export(model, path, new OnnxExportOptions { InputSize = SmallInput });
        using var runner = new MobileNeXt.Inference.OnnxRuntimeModel(path);

        // When it runs batches of different sizes
        foreach (long batch in new long[] { 1, 3 })
        {
            using var x = randn(batch, 3, SmallInput, SmallInput, generator: new Generator((ulong)batch));
            using var actual = runner.call(x);
            using var expected = Eval(model, x);

            // Then each gives TorchSharp's logits
            actual.shape.Should().Equal(batch, 10);
            float delta = TestSupport.MaxAbsDiff(actual, expected);
            output.WriteLine($"mobilenext_035 α 1/2, batch {batch}: max |Δ| = {delta:E2}");
            delta.Should().BeLessThan(Tolerance);
        }
    }

    [Fact]
    public void Should_read_views_and_other_dtypes_as_their_values_not_their_storage()
    {
        // Given one exported file, and a batch of four images
        using var model = ModelRegistry.Create("mobilenext_035", new ModelCreateOptions { NumClasses = 10 });
        RandomizeBatchNorm(model, seed: 11);
        model.eval();
        string path = Path.Combine(TestSupport.TempDir(), "model.onnx");
        OnnxExporter.Export(model, path, new OnnxExportOptions { InputSize = SmallInput });
        using var runner = new MobileNeXt.Inference.OnnxRuntimeModel(path);
        using var batch = randn(4, 3, SmallInput, SmallInput, generator: new Generator(12));

        // When ONNX Runtime reads a slice at an offset into the batch's memory, a transposed (non-contiguous) view
        // and a float64 copy — the runner hands ONNX Runtime the tensor's memory without copying it
        using var slice = batch.narrow(0, 2, 2);
        using var transposed = batch.transpose(2, 3).transpose(2, 3);
        using var strided = batch.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
        using var doubles = batch.to(ScalarType.Float64);

        // Then each gives TorchSharp's logits for the same values
        using var expectedAll = Eval(model, batch);
        using var expectedSlice = expectedAll.narrow(0, 2, 2);
        foreach (var (name, x, expected) in new[] { ("slice", slice, expectedSlice), ("transposed", transposed, expectedAll), ("NHWC strides", strided, expectedAll), ("float64", doubles, expectedAll) })
        {
            using var actual = runner.call(x);
            float delta = TestSupport.MaxAbsDiff(actual, expected);
            output.WriteLine($"{name}: max |Δ| = {delta:E2}");
            delta.Should().BeLessThan(Tolerance, name);
        }
    }

    [Fact]
    public void Should_export_a_non_square_input_that_gives_TorchSharp_s_logits()
    {
        // Given a model exported for 64×96 inputs (height × width, a landscape camera frame scaled down)
        using var model = ModelRegistry.Create("mobilenext_035", new ModelCreateOptions { NumClasses = 10, IdentityMultiplier = 0.5 });
        RandomizeBatchNorm(model, seed: 12);
        using var x = randn(2, 3, 64, 96, generator: new Generator(12));

        // Then ONNX Runtime gives TorchSharp's logits on it, and the file declares that shape
        var graph = AssertSameLogits(model, x, "mobilenext_035 α 1/2, 64×96");
        graph.Graph.Input[0].Type.TensorType.Shape.Dim.Skip(1).Select(d => d.DimValue).Should().Equal(3, 64, 96);
    }

    [Fact]
    public void Should_write_the_documented_graph()
    {
        using var model = new MobileNeXtNet(new MobileNeXtOptions { Width = 0.35, NumClasses = 10, IdentityMultiplier = 0.5 });
        using var stream = new MemoryStream();
        OnnxExporter.Export(model, stream, new OnnxExportOptions { InputSize = 96 });
        var onnx = ModelProto.Parser.ParseFrom(stream.ToArray());

        onnx.IrVersion.Should().Be(8);
        onnx.ProducerName.Should().Be("MobileNeXt.Core");
        onnx.OpsetImport.Should().ContainSingle().Which.Should().Match<OperatorSetIdProto>(o => o.Domain == "" && o.Version == 17);

        var input = onnx.Graph.Input.Should().ContainSingle().Subject;
        input.Name.Should().Be("input");
        var dims = input.Type.TensorType.Shape.Dim;
        dims[0].DimParam.Should().Be("batch");
        dims.Skip(1).Select(d => d.DimValue).Should().Equal(3, 96, 96);
        var logits = onnx.Graph.Output.Should().ContainSingle().Subject;
        logits.Name.Should().Be("logits");
        logits.Type.TensorType.Shape.Dim[0].DimParam.Should().Be("batch");

        var ops = onnx.Graph.Node.Select(n => n.OpType).ToList();
        ops.Should().NotContain("BatchNormalization").And.NotContain("Dropout");
        ops.Should().Contain("Clip").And.Contain("GlobalAveragePool").And.Contain("Flatten").And.Contain("Gemm");
        ops.Count(o => o == "Conv").Should().Be(model.modules().OfType<Conv2d>().Count());
        // α = 1/2 with 12 shortcuts: each a Slice of output and input, an Add, the untouched rest and a Concat
        ops.Count(o => o == "Concat").Should().Be(12);
        ops.Count(o => o == "Slice").Should().Be(36);
        onnx.Graph.Initializer.Select(i => i.Name).Should().Contain("features.0.0.weight").And.Contain("classifier.1.weight");
        model.modules().OfType<BatchNorm>().Should().NotBeEmpty("the exported model is left unchanged");
    }

    [Fact]
    public void Should_export_a_fused_model_as_it_is()
    {
        using var model = ModelRegistry.Create("mobilenetv2_035", new ModelCreateOptions { NumClasses = 10 });
        model.eval();
        using var fused = model.Fuse();
        var onnx = OnnxExporter.BuildModel(fused, new OnnxExportOptions { InputSize = SmallInput });
        onnx.Graph.Node.Count(n => n.OpType == "Add").Should().Be(10); // torchvision's ten shape-keeping blocks
        fused.modules().OfType<Conv2d>().First().weight.IsInvalid.Should().BeFalse("the caller's fused model is not disposed");
    }

    /// <summary>
    /// Exports <paramref name="model"/> for <paramref name="x"/>'s height and width, runs the file on it and checks it
    /// against eval-mode TorchSharp.
    /// </summary>
    private ModelProto AssertSameLogits(ImageClassifier model, Tensor x, string label)
    {
        model.eval();
        string path = Path.Combine(TestSupport.TempDir(), "model.onnx");
        OnnxExporter.Export(model, path, new OnnxExportOptions { InputHeight = (int)x.shape[2], InputWidth = (int)x.shape[3] });
        using var runner = new MobileNeXt.Inference.OnnxRuntimeModel(path);
        using var actual = runner.call(x);
        using var expected = Eval(model, x);
        actual.shape.Should().Equal(expected.shape);
        float delta = TestSupport.MaxAbsDiff(actual, expected);
        output.WriteLine($"{label}: max |Δ| = {delta:E2} (logits up to {expected.abs().max().item<float>():0.###})");
        delta.Should().BeLessThan(Tolerance);
        return ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
    }

    private static Tensor Eval(ImageClassifier model, Tensor x)
    {
        using var _ = no_grad();
        return model.call(x);
    }

    /// <summary>
    /// Non-trivial BatchNorm statistics and affine parameters, so the fold is exercised, and a classifier 10× the
    /// released initialisation, so the logits are of order 1 and 1e-4 is a tight bound.
    /// </summary>
    private static void RandomizeBatchNorm(ImageClassifier model, int seed)
    {
        using var _ = no_grad();
        var g = new Generator((ulong)seed);
        foreach (var linear in model.modules().OfType<Linear>())
            linear.weight.copy_(randn(linear.weight.shape, generator: g) * 0.1);
        foreach (var bn in model.modules().OfType<BatchNorm>())
        {
            bn.running_mean!.copy_(randn(bn.running_mean.shape, generator: g) * 0.1);
            bn.running_var!.copy_(rand(bn.running_var.shape, generator: g) + 0.5);
            bn.weight!.copy_(rand(bn.weight.shape, generator: g) + 0.5);
            bn.bias!.copy_(randn(bn.bias.shape, generator: g) * 0.1);
        }
    }
}
