using SkiaSharp;

namespace MobileNeXt.Training.Data;

/// <summary>
/// A labelled image dataset: what the folder, Fashion-MNIST and synthetic datasets all expose, and what
/// <see cref="ReadAheadLoader"/> reads. Implementations must allow <see cref="LoadImage"/> from several threads at once.
/// </summary>
public interface IImageDataset
{
    /// <summary>Number of samples; indices run from 0 to <c>Count - 1</c>.</summary>
    int Count { get; }

    /// <summary>Class names; a label is an index into this list.</summary>
    IReadOnlyList<string> Classes { get; }

    /// <summary>The label of sample <paramref name="index"/>, without decoding its image.</summary>
    int GetLabel(int index);

    /// <summary>
    /// Decodes sample <paramref name="index"/> to an opaque RGBA8888 bitmap (alpha 255 everywhere; the caller disposes it),
    /// or returns <see langword="null"/> when the dataset skips the sample (e.g. a corrupt file under
    /// <see cref="CorruptImagePolicy.Skip"/>).
    /// </summary>
    SKBitmap? LoadImage(int index);
}
