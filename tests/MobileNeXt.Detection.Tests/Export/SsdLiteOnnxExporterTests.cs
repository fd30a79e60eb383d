using Microsoft.ML.OnnxRuntime;
using MobileNeXt.Detection.Boxes;
using MobileNeXt.Detection.Export;
using MobileNeXt.Export;
using static TorchSharp.torch;

namespace MobileNeXt.Detection.Tests.Export;

/// <summary>The exported detector, run by ONNX Runtime (CPU), against the reference fixture.</summary>
public class SsdLiteOnnxExporterTests
{
    [Fact]
    public void Should_reproduce_the_reference_heads_priors_and_detections_in_ONNX_Runtime()
    {
        using var model = TestSupport.ReferenceDetector();
        using var file = new MemoryStream();
        SsdLiteOnnxExporter.Export(model, file);
        using var session = new InferenceSession(file.ToArray());
        var outputs = Run(session, TestSupport.Vectors["input"]);
        try
        {
            TestSupport.ShouldMatchTheReferenceOutputs(outputs[0], outputs[1]);
            TestSupport.MaxAbsDiff(outputs[2], TestSupport.Vectors["priors"]).Should().BeLessThan(1e-6f);
            var detections = new SsdPostProcessor(model.Options).Process(outputs[0], outputs[1], outputs[2]);
            TestSupport.ShouldMatchAsASet(detections[0], TestSupport.ReferenceDetections());
        }
        finally
        {
            foreach (var t in outputs) t.Dispose();
        }
    }

    [Fact]
    public void Should_declare_a_dynamic_batch_and_the_three_outputs()
    {
        using var model = SsdLite.CreateMobileNeXt();
        using var file = new MemoryStream();
        SsdLiteOnnxExporter.Export(model, file);
        using var session = new InferenceSession(file.ToArray());
        session.InputMetadata[OnnxExporter.InputName].Dimensions.Should().Equal(-1, 3, 320, 320);
        session.OutputMetadata.Keys.Should().Equal(SsdLiteOnnxExporter.ScoresName, SsdLiteOnnxExporter.BoxesName, SsdLiteOnnxExporter.PriorsName);
        session.OutputMetadata[SsdLiteOnnxExporter.ScoresName].Dimensions.Should().Equal(-1, 3234, 21);
        using var one = zeros(1, 3, 320, 320);
        var outputs = Run(session, one);
        outputs[0].shape.Should().Equal(1, 3234, 21);
        foreach (var t in outputs) t.Dispose();
    }

    /// <summary>scores, boxes and priors for <paramref name="input"/>, as CPU tensors the caller disposes.</summary>
    private static List<Tensor> Run(InferenceSession session, Tensor input)
    {
        using var contiguous = input.contiguous();
        using var value = OrtValue.CreateTensorValueFromMemory(contiguous.data<float>().ToArray(), contiguous.shape);
        using var options = new RunOptions();
        string[] names = [SsdLiteOnnxExporter.ScoresName, SsdLiteOnnxExporter.BoxesName, SsdLiteOnnxExporter.PriorsName];
        using var outputs = session.Run(options, [OnnxExporter.InputName], [value], names);
        return outputs.Select(o => tensor(o.GetTensorDataAsSpan<float>().ToArray(), o.GetTensorTypeAndShape().Shape)).ToList();
    }
}
