using MobileNeXt.Models;

namespace MobileNeXt.Export;

/// <summary>What may change in an exported ONNX graph; the opset, names and layout are fixed (see <see cref="OnnxExporter"/>).</summary>
public sealed record OnnxExportOptions
{
    /// <summary>
    /// Height and width of the graph's input unless <see cref="InputHeight"/> / <see cref="InputWidth"/> say otherwise;
    /// fixed in the file (the batch dimension stays dynamic). Default 224, the paper's ImageNet resolution; at least
    /// <see cref="ImageClassifier.MinInputSize"/>.
    /// </summary>
    public int InputSize { get; init; } = 224;

    /// <summary>Input height when it differs from the width (e.g. 240 for 320×240 frames); null = <see cref="InputSize"/>.</summary>
    public int? InputHeight { get; init; }

    /// <summary>Input width when it differs from the height; null = <see cref="InputSize"/>.</summary>
    public int? InputWidth { get; init; }

    /// <summary>The input height in use.</summary>
    public int Height => InputHeight ?? InputSize;

    /// <summary>The input width in use.</summary>
    public int Width => InputWidth ?? InputSize;

    /// <summary>Throws an <see cref="ArgumentOutOfRangeException"/> naming the first invalid value.</summary>
    public void Validate()
    {
        // Only the sizes in use: InputSize does not matter once both sides are given.
        Check(Height, InputHeight is null ? nameof(InputSize) : nameof(InputHeight));
        Check(Width, InputWidth is null ? nameof(InputSize) : nameof(InputWidth));
    }

    private static void Check(int size, string name)
    {
        if (size < ImageClassifier.MinInputSize)
            throw new ArgumentOutOfRangeException(name, size,
                $"{name} must be at least {ImageClassifier.MinInputSize} (the network downsamples by 32); got {size}.");
    }
}
