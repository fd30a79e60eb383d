using Microsoft.ML.OnnxRuntime;
using MobileNeXt.Detection.Export;
using MobileNeXt.Export;
using static TorchSharp.torch;

namespace MobileNeXt.Detection.Tests.Export;

/// <summary>Exports a detector in memory and runs it in ONNX Runtime (CPU) on TorchSharp tensors.</summary>
internal sealed class OnnxRuntimeRunner : IDisposable
{
    public OnnxRuntimeRunner(SsdLite model)
    {
        using var file = new MemoryStream();
        SsdLiteOnnxExporter.Export(model, file);
        Session = new InferenceSession(file.ToArray());
    }

    public InferenceSession Session { get; }

    /// <summary>scores, boxes and priors for <paramref name="input"/>, as CPU tensors the caller disposes.</summary>
    public List<Tensor> Run(Tensor input)
    {
        using var contiguous = input.contiguous();
        using var value = OrtValue.CreateTensorValueFromMemory(contiguous.data<float>().ToArray(), contiguous.shape);
        using var options = new RunOptions();
        string[] names = [SsdLiteOnnxExporter.ScoresName, SsdLiteOnnxExporter.BoxesName, SsdLiteOnnxExporter.PriorsName];
        using var outputs = Session.Run(options, [OnnxExporter.InputName], [value], names);
        return outputs.Select(o => tensor(o.GetTensorDataAsSpan<float>().ToArray(), o.GetTensorTypeAndShape().Shape)).ToList();
    }

    public void Dispose() => Session.Dispose();
}
