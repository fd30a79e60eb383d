using SkiaSharp;

namespace MobileNeXt.Inference;

/// <summary>Turns one decoded image into a normalised 3×<see cref="OutputHeight"/>×<see cref="OutputWidth"/> float image.</summary>
public interface ISampleTransform
{
    /// <summary>Rows of every output image.</summary>
    int OutputHeight { get; }

    /// <summary>Columns of every output image.</summary>
    int OutputWidth { get; }

    /// <summary>
    /// Transforms <paramref name="image"/> (opaque RGBA8888, as <see cref="ImageDecoding.DecodeRgb(string)"/> returns it) into
    /// <paramref name="destination"/> (3·H·W floats, planes R, G, B). Every random choice comes from <paramref name="rng"/>.
    /// </summary>
    void Apply(SKBitmap image, Random rng, Span<float> destination);
}
