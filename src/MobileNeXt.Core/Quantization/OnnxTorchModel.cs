using Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Quantization;

/// <summary>
/// An ONNX model of this library run by TorchSharp, as a module: for an INT8 QDQ model this is simulated quantization
/// (every QuantizeLinear/DequantizeLinear as fake-quant with the model's own scales), so INT8 accuracy can be measured
/// with the training code's evaluation on any libtorch device's CPU path, and it matches ONNX Runtime's INT8 model.
/// </summary>
public sealed class OnnxTorchModel : nn.Module<Tensor, Tensor>
{
    private readonly OnnxGraphRunner runner;

    /// <summary>Loads <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">The file is not an ONNX model.</exception>
    /// <exception cref="NotSupportedException">The graph holds an operator the runner does not execute (named in the message).</exception>
    public OnnxTorchModel(string path) : base(nameof(OnnxTorchModel))
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"The ONNX model '{path}' does not exist.", path);
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"'{path}' is not an ONNX model: {e.Message}", e);
        }
        runner = new OnnxGraphRunner(model);
    }

    internal OnnxTorchModel(ModelProto model) : base(nameof(OnnxTorchModel)) => runner = new OnnxGraphRunner(model);

    /// <summary>The graph's output for <paramref name="input"/> (moved to the CPU as float32).</summary>
    public override Tensor forward(Tensor input)
    {
        using var _ = no_grad();
        using var x = input.to(ScalarType.Float32, CPU).contiguous();
        return runner.Run(x);
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing) runner.Dispose();
        base.Dispose(disposing);
    }
}
