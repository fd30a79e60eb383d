using Microsoft.ML.OnnxRuntime;
using MobileNeXt.Export;
using static TorchSharp.torch;

namespace MobileNeXt.Core.Tests.Export;

/// <summary>Runs an exported file in ONNX Runtime (CPU) on TorchSharp tensors.</summary>
internal sealed class OnnxRuntimeRunner : IDisposable
{
    private readonly InferenceSession session;

    public OnnxRuntimeRunner(string path) => session = new InferenceSession(path);

    /// <summary>The graph's <c>logits</c> for <paramref name="input"/>, as a CPU tensor the caller disposes.</summary>
    public Tensor Run(Tensor input)
    {
        using var contiguous = input.to(ScalarType.Float32, CPU).contiguous();
        float[] data = contiguous.data<float>().ToArray();
        using var value = OrtValue.CreateTensorValueFromMemory(data, contiguous.shape);
        using var options = new RunOptions();
        using var outputs = session.Run(options, [OnnxExporter.InputName], [value], [OnnxExporter.OutputName]);
        var output = outputs[0];
        return tensor(output.GetTensorDataAsSpan<float>().ToArray(), output.GetTensorTypeAndShape().Shape);
    }

    public void Dispose() => session.Dispose();
}
