using SkiaSharp;

namespace MobileNeXt.Inference;

/// <summary>The pixel steps the transforms share: resample a region with Skia, convert to float CHW, normalise.</summary>
internal static class PixelOps
{
    /// <summary>
    /// Resizes <paramref name="region"/> of <paramref name="source"/> to <paramref name="width"/>×<paramref name="height"/>
    /// (edges clamped, as PIL's crop-then-resize). While a side is at least twice its target it is first halved with a
    /// linear filter (an exact 2-tap box at scale ½), so large reductions average every source pixel instead of
    /// aliasing: Skia's filters, unlike PIL's, do not widen their support when they reduce.
    /// </summary>
    public static SKBitmap ResizeRegion(SKBitmap source, SKRectI region, int width, int height, ResamplingMode mode)
    {
        var current = new SKBitmap();
        if (!source.ExtractSubset(current, region))
        {
            current.Dispose();
            throw new ArgumentException($"Region {region} lies outside the {source.Width}×{source.Height} image.", nameof(region));
        }
        try
        {
            var halve = new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.None);
            while (current.Width >= 2 * width || current.Height >= 2 * height)
            {
                int w = current.Width >= 2 * width ? current.Width / 2 : current.Width;
                int h = current.Height >= 2 * height ? current.Height / 2 : current.Height;
                var next = Scale(current, w, h, halve);
                current.Dispose();
                current = next;
            }
            var final = mode switch
            {
                ResamplingMode.Bilinear => new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.None),
                ResamplingMode.Bicubic => new SKSamplingOptions(SKCubicResampler.CatmullRom),
                _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Use Bilinear or Bicubic."),
            };
            return Scale(current, width, height, final);
        }
        finally
        {
            current.Dispose();
        }
    }

    private static SKBitmap Scale(SKBitmap source, int width, int height, SKSamplingOptions sampling)
    {
        var target = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        if (source.Width == width && source.Height == height)
        {
            if (!source.CopyTo(target, SKColorType.Rgba8888))
                throw new InvalidOperationException("Skia could not copy the bitmap.");
        }
        else if (!source.ScalePixels(target, sampling))
        {
            target.Dispose();
            throw new InvalidOperationException($"Skia could not resample {source.Width}×{source.Height} to {width}×{height}.");
        }
        return target;
    }

    /// <summary>
    /// Writes the <paramref name="box"/> of an RGBA8888 bitmap as 3×H×W floats in [0, 1] (value / 255, as
    /// torchvision's ToTensor), mirrored left–right when <paramref name="flip"/> is set.
    /// </summary>
    public static void ToUnitChw(SKBitmap bitmap, CropBox box, bool flip, Span<float> chw)
    {
        int n = box.Width * box.Height;
        if (chw.Length != 3 * n)
            throw new ArgumentException($"Destination holds {chw.Length} values; a 3×{box.Height}×{box.Width} image needs {3 * n}.", nameof(chw));
        if (bitmap.ColorType != SKColorType.Rgba8888)
            throw new ArgumentException($"Expected an RGBA8888 bitmap, got {bitmap.ColorType}. Decode with ImageDecoding.", nameof(bitmap));
        ReadOnlySpan<byte> pixels = bitmap.GetPixelSpan();
        int rowBytes = bitmap.RowBytes;
        const float scale = 1f / 255f;
        for (int y = 0; y < box.Height; y++)
        {
            var row = pixels.Slice((box.Top + y) * rowBytes + 4 * box.Left, 4 * box.Width);
            int o = y * box.Width;
            for (int x = 0; x < box.Width; x++)
            {
                int src = 4 * (flip ? box.Width - 1 - x : x);
                chw[o + x] = row[src] * scale;
                chw[n + o + x] = row[src + 1] * scale;
                chw[2 * n + o + x] = row[src + 2] * scale;
            }
        }
    }

    /// <summary>In place: <c>(x − mean[c]) / std[c]</c> on a 3×H×W image, as torchvision's Normalize.</summary>
    public static void Normalize(Span<float> chw, NormalizationStatistics stats)
    {
        int n = chw.Length / 3;
        for (int c = 0; c < 3; c++)
        {
            float mean = stats.Mean[c], std = stats.Std[c];
            var plane = chw.Slice(c * n, n);
            for (int i = 0; i < plane.Length; i++)
                plane[i] = (plane[i] - mean) / std;
        }
    }
}
