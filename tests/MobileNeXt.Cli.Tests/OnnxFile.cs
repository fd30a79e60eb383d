using Microsoft.ML.OnnxRuntime;
using MobileNeXt.Interop;
using MobileNeXt.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Cli.Tests;

/// <summary>An exported file as ONNX Runtime loads it, and the same network in TorchSharp to compare its logits with.</summary>
internal static class OnnxFile
{
    /// <summary>The declared shape of the graph's only input and only output (-1 for a dynamic dimension).</summary>
    public static (int[] Input, int[] Output) Shapes(string path)
    {
        using var session = new InferenceSession(path);
        return (session.InputMetadata.Values.Single().Dimensions, session.OutputMetadata.Values.Single().Dimensions);
    }

    /// <summary>ONNX Runtime's logits and TorchSharp's (eval mode) for the same seeded batch of two N×3×H×W inputs.</summary>
    public static (float[] Onnx, float[] Torch) Logits(string path, string model, string weights, ModelCreateOptions create, int height, int width)
    {
        torch.manual_seed(13);
        using var input = torch.randn(2, 3, height, width);
        using var network = ModelRegistry.Create(model, create);
        ModelWeights.Load(network, weights);
        network.eval();
        float[] expected;
        using (torch.no_grad())
        using (var logits = network.call(input))
            expected = logits.data<float>().ToArray();

        using var session = new InferenceSession(path);
        using var value = OrtValue.CreateTensorValueFromMemory(input.data<float>().ToArray(), input.shape);
        using var options = new RunOptions();
        using var outputs = session.Run(options, [session.InputNames[0]], [value], [session.OutputNames[0]]);
        return (outputs[0].GetTensorDataAsSpan<float>().ToArray(), expected);
    }
}
