using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Inference;

/// <summary>
/// An ONNX model of this library (FP32 or INT8 QDQ) run by ONNX Runtime on the CPU, as a TorchSharp module: logits
/// for an N×C×H×W batch, so evaluation and prediction code takes it like any network. Needs ONNX Runtime's native
/// library: add the <c>Microsoft.ML.OnnxRuntime</c> package to the app.
/// </summary>
public sealed class OnnxRuntimeModel : nn.Module<Tensor, Tensor>
{
    private readonly InferenceSession session;
    private readonly string inputName;
    private readonly string outputName;

    /// <summary>Loads <paramref name="path"/>.</summary>
    /// <param name="path">An <c>.onnx</c> file with one float input [batch, C, H, W] and one float output.</param>
    /// <param name="threads">Intra-op threads; 0 lets ONNX Runtime choose (one per core).</param>
    /// <param name="optimizations">Graph optimizations: <see cref="GraphOptimizationLevel.ORT_ENABLE_ALL"/> fuses QDQ
    /// groups into integer kernels; <see cref="GraphOptimizationLevel.ORT_DISABLE_ALL"/> runs every Q/DQ as written
    /// (the float simulation of the INT8 model).</param>
    /// <param name="optimizedModelPath">Where ONNX Runtime writes the graph it runs, for inspection; null for none.</param>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">ONNX Runtime cannot load the file (its reason is in the message).</exception>
    public OnnxRuntimeModel(string path, int threads = 0, GraphOptimizationLevel optimizations = GraphOptimizationLevel.ORT_ENABLE_ALL,
        string? optimizedModelPath = null) : base(nameof(OnnxRuntimeModel))
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"The ONNX model '{path}' does not exist.", path);
        using var options = new SessionOptions { GraphOptimizationLevel = optimizations, IntraOpNumThreads = threads, InterOpNumThreads = 1, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        if (optimizedModelPath is not null) options.OptimizedModelFilePath = optimizedModelPath;
        try
        {
            session = new InferenceSession(path, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"ONNX Runtime cannot load '{path}': {e.Message}", e);
        }
        catch (TypeInitializationException e) when (e.InnerException is DllNotFoundException)
        {
            throw new DllNotFoundException("ONNX Runtime's native library is missing: add the Microsoft.ML.OnnxRuntime package (CPU) or Microsoft.ML.OnnxRuntime.Gpu to the app.", e);
        }
        if (session.InputMetadata.Count != 1 || session.OutputMetadata.Count != 1)
            throw new InvalidDataException($"'{path}' has {session.InputMetadata.Count} inputs and {session.OutputMetadata.Count} outputs; a classifier has one of each.");
        inputName = session.InputMetadata.Keys.Single();
        outputName = session.OutputMetadata.Keys.Single();
        var dims = session.InputMetadata[inputName].Dimensions;
        if (dims.Length != 4) throw new InvalidDataException($"'{path}' takes a rank-{dims.Length} input; an image classifier takes N×C×H×W.");
        InChannels = dims[1];
        Height = dims[2];
        Width = dims[3];
        Metadata = session.ModelMetadata.CustomMetadataMap.ToDictionary();
    }

    /// <summary>Channels of the input.</summary>
    public int InChannels { get; }

    /// <summary>Input height the model was exported for (−1 when dynamic).</summary>
    public int Height { get; }

    /// <summary>Input width the model was exported for (−1 when dynamic).</summary>
    public int Width { get; }

    /// <summary>The model's metadata properties (e.g. <c>mobilenext.quantization</c> on INT8 models).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Runs the model on <paramref name="input"/> (copied to a contiguous float32 CPU buffer); logits on the CPU.</summary>
    public override Tensor forward(Tensor input)
    {
        if (input.dim() != 4 || input.shape[1] != InChannels || Height > 0 && input.shape[2] != Height || Width > 0 && input.shape[3] != Width)
            throw new ArgumentException($"The ONNX model takes N×{InChannels}×{Height}×{Width} batches; got [{string.Join(", ", input.shape)}].", nameof(input));
        using var contiguous = input.to(ScalarType.Float32, CPU).contiguous();
        // ONNX Runtime reads the tensor's own memory: no copy (a TensorAccessor copy of a 224² image cost ~0.9 ms,
        // a third of MobileNeXt-1.0's INT8 batch-1 latency). The tensor outlives the run, so the memory stays valid.
        IntPtr data = Layers.TensorMemory.Address(contiguous);
        using var value = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float, contiguous.shape, data,
            contiguous.numel() * sizeof(float));
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, [inputName], [value], [outputName]);
        var output = outputs[0];
        return tensor(output.GetTensorDataAsSpan<float>().ToArray(), output.GetTensorTypeAndShape().Shape);
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing) session.Dispose();
        base.Dispose(disposing);
    }
}
