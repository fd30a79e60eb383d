using MobileNeXt.Models;

namespace MobileNeXt.Export;

/// <summary>What may change in an exported ONNX graph; the opset, names and layout are fixed (see <see cref="OnnxExporter"/>).</summary>
public sealed record OnnxExportOptions
{
    /// <summary>
    /// Height and width of the graph's input, fixed in the file (the batch dimension stays dynamic). Default 224, the
    /// paper's ImageNet resolution; at least <see cref="ImageClassifier.MinInputSize"/>.
    /// </summary>
    public int InputSize { get; init; } = 224;

    /// <summary>Throws an <see cref="ArgumentOutOfRangeException"/> naming the first invalid value.</summary>
    public void Validate()
    {
        if (InputSize < ImageClassifier.MinInputSize)
            throw new ArgumentOutOfRangeException(nameof(InputSize), InputSize,
                $"InputSize must be at least {ImageClassifier.MinInputSize} (the network downsamples by 32); got {InputSize}.");
    }
}
