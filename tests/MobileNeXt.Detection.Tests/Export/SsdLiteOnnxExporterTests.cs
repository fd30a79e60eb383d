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
        using var runner = new OnnxRuntimeRunner(model);
        var outputs = runner.Run(TestSupport.Vectors["input"]);
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
        using var runner = new OnnxRuntimeRunner(model);
        var session = runner.Session;
        session.InputMetadata[OnnxExporter.InputName].Dimensions.Should().Equal(-1, 3, 320, 320);
        session.OutputMetadata.Keys.Should().Equal(SsdLiteOnnxExporter.ScoresName, SsdLiteOnnxExporter.BoxesName, SsdLiteOnnxExporter.PriorsName);
        session.OutputMetadata[SsdLiteOnnxExporter.ScoresName].Dimensions.Should().Equal(-1, 3234, 21);
        using var one = zeros(1, 3, 320, 320);
        var outputs = runner.Run(one);
        outputs[0].shape.Should().Equal(1, 3234, 21);
        foreach (var t in outputs) t.Dispose();
    }
}
