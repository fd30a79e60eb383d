using MobileNeXt.Inference;
namespace MobileNeXt.Training.Data;

/// <summary>
/// The "Inception" random crop (Szegedy et al., 2015, "Going deeper with convolutions", Sec. 6): torchvision's
/// <c>RandomResizedCrop.get_params</c>, line for line, with a caller-supplied <see cref="Random"/>.
/// TorchSharp's RandomResizedCrop is not equivalent (it scales the side, not the area, and ignores the ratio).
/// </summary>
public static class InceptionCrop
{
    /// <summary>Attempts before the centre-crop fallback (torchvision: 10).</summary>
    public const int Attempts = 10;

    /// <summary>
    /// Draws a box: target area = image area × U(<paramref name="minScale"/>, <paramref name="maxScale"/>), aspect ratio
    /// = exp(U(ln <paramref name="minRatio"/>, ln <paramref name="maxRatio"/>)), sides rounded half-to-even as Python's
    /// <c>round</c>; the first of <see cref="Attempts"/> draws that fits is placed uniformly at random. If none fits, a centre
    /// crop of the whole image, narrowed to the nearest ratio in range.
    /// </summary>
    public static CropBox Sample(int width, int height, Random rng,
        double minScale = 0.08, double maxScale = 1.0, double minRatio = 3.0 / 4.0, double maxRatio = 4.0 / 3.0)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (width <= 0 || height <= 0)
            throw new ArgumentOutOfRangeException(nameof(width), $"Image size must be positive; got {width}×{height}.");
        if (!(minScale > 0 && minScale <= maxScale && maxScale <= 1))
            throw new ArgumentOutOfRangeException(nameof(minScale), $"Need 0 < minScale ≤ maxScale ≤ 1 (torchvision: 0.08, 1.0); got {minScale}, {maxScale}.");
        if (!(minRatio > 0 && minRatio <= maxRatio))
            throw new ArgumentOutOfRangeException(nameof(minRatio), $"Need 0 < minRatio ≤ maxRatio (torchvision: 3/4, 4/3); got {minRatio}, {maxRatio}.");

        double area = (double)width * height;
        double logMin = Math.Log(minRatio), logMax = Math.Log(maxRatio);
        for (int attempt = 0; attempt < Attempts; attempt++)
        {
            double targetArea = area * Uniform(rng, minScale, maxScale);
            double aspect = Math.Exp(Uniform(rng, logMin, logMax));
            int w = (int)Math.Round(Math.Sqrt(targetArea * aspect), MidpointRounding.ToEven);
            int h = (int)Math.Round(Math.Sqrt(targetArea / aspect), MidpointRounding.ToEven);
            if (0 < w && w <= width && 0 < h && h <= height)
            {
                int top = rng.Next(height - h + 1);
                int left = rng.Next(width - w + 1);
                return new CropBox(top, left, h, w);
            }
        }
        return CentreFallback(width, height, minRatio, maxRatio);
    }

    /// <summary>torchvision's fallback: the whole image, cut down to the closest aspect ratio in range, centred.</summary>
    public static CropBox CentreFallback(int width, int height, double minRatio = 3.0 / 4.0, double maxRatio = 4.0 / 3.0)
    {
        double inRatio = (double)width / height;
        int w, h;
        if (inRatio < minRatio)
        {
            w = width;
            h = (int)Math.Round(w / minRatio, MidpointRounding.ToEven);
        }
        else if (inRatio > maxRatio)
        {
            h = height;
            w = (int)Math.Round(h * maxRatio, MidpointRounding.ToEven);
        }
        else
        {
            w = width;
            h = height;
        }
        return new CropBox((height - h) / 2, (width - w) / 2, h, w);
    }

    private static double Uniform(Random rng, double low, double high) => low + (high - low) * rng.NextDouble();
}
