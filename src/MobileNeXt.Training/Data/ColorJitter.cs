namespace MobileNeXt.Training.Data;

/// <summary>The adjustments of <see cref="ColorJitter"/>.</summary>
public enum ColorAdjustment
{
    /// <summary>Multiply by a factor: <c>clamp(f·x, 0, 1)</c>.</summary>
    Brightness,

    /// <summary>Blend with the image's mean grey level: <c>clamp(f·x + (1−f)·mean(grey), 0, 1)</c>.</summary>
    Contrast,

    /// <summary>Blend with each pixel's grey level: <c>clamp(f·x + (1−f)·grey, 0, 1)</c>.</summary>
    Saturation,
}

/// <summary>One draw of <see cref="ColorJitter"/>: the adjustments in the order they apply, each with its factor.</summary>
/// <param name="Steps">Adjustments and factors, applied first to last.</param>
public sealed record ColorJitterParameters(IReadOnlyList<(ColorAdjustment Adjustment, float Factor)> Steps);

/// <summary>
/// torchvision's <c>ColorJitter(brightness, contrast, saturation)</c> on float images in [0, 1] (its tensor path):
/// each enabled adjustment gets a factor from U(max(0, 1−s), 1+s) and the adjustments run in a random order per
/// sample, as torchvision's <c>randperm</c> orders them. Grey is ITU-R 601 luma 0.2989 R + 0.587 G + 0.114 B.
/// TorchSharp's ColorJitter uses a fixed order, which is why this is hand-written.
/// </summary>
public static class ColorJitter
{
    /// <summary>Draws an order (Fisher–Yates over the enabled adjustments) then the factors, in the order brightness, contrast, saturation as torchvision draws them.</summary>
    public static ColorJitterParameters Sample(Random rng, double brightness, double contrast, double saturation)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var enabled = new List<(ColorAdjustment, double)>();
        foreach (var (adjustment, strength) in new[] { (ColorAdjustment.Brightness, brightness), (ColorAdjustment.Contrast, contrast), (ColorAdjustment.Saturation, saturation) })
        {
            if (!(strength >= 0) || double.IsInfinity(strength))
                throw new ArgumentOutOfRangeException(nameof(brightness), $"{adjustment} strength must be a finite number ≥ 0 (0 disables it; the recipe uses 0.4); got {strength}.");
            if (strength > 0)
                enabled.Add((adjustment, strength));
        }
        var order = Enumerable.Range(0, enabled.Count).ToArray();
        for (int i = order.Length - 1; i > 0; i--)
        {
            int k = rng.Next(i + 1);
            (order[i], order[k]) = (order[k], order[i]);
        }
        var factors = new float[enabled.Count];
        for (int i = 0; i < enabled.Count; i++)
        {
            double s = enabled[i].Item2, low = Math.Max(0, 1 - s), high = 1 + s;
            factors[i] = (float)(low + (high - low) * rng.NextDouble());
        }
        return new ColorJitterParameters([.. order.Select(i => (enabled[i].Item1, factors[i]))]);
    }

    /// <summary>Applies <paramref name="parameters"/> in place to a 3×H×W float image in [0, 1] (planes R, G, B).</summary>
    public static void Apply(ColorJitterParameters parameters, Span<float> chw)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (chw.Length % 3 != 0)
            throw new ArgumentException($"Expected a 3×H×W image, got {chw.Length} values (not a multiple of 3).", nameof(chw));
        int n = chw.Length / 3;
        var r = chw[..n];
        var g = chw.Slice(n, n);
        var b = chw.Slice(2 * n, n);
        foreach (var (adjustment, f) in parameters.Steps)
        {
            switch (adjustment)
            {
                case ColorAdjustment.Brightness:
                    for (int i = 0; i < chw.Length; i++)
                        chw[i] = Clamp01(f * chw[i]);
                    break;
                case ColorAdjustment.Contrast:
                    double sum = 0;
                    for (int i = 0; i < n; i++)
                        sum += Grey(r[i], g[i], b[i]);
                    float blend = (1 - f) * (float)(sum / n);
                    for (int i = 0; i < chw.Length; i++)
                        chw[i] = Clamp01(f * chw[i] + blend);
                    break;
                case ColorAdjustment.Saturation:
                    for (int i = 0; i < n; i++)
                    {
                        float grey = (1 - f) * Grey(r[i], g[i], b[i]);
                        r[i] = Clamp01(f * r[i] + grey);
                        g[i] = Clamp01(f * g[i] + grey);
                        b[i] = Clamp01(f * b[i] + grey);
                    }
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(parameters), adjustment, "Unknown colour adjustment.");
            }
        }
    }

    internal static float Grey(float r, float g, float b) => 0.2989f * r + 0.587f * g + 0.114f * b;

    internal static float Clamp01(float v) => v < 0 ? 0 : v > 1 ? 1 : v;
}
