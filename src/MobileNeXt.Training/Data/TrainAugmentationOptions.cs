using MobileNeXt.Inference;
namespace MobileNeXt.Training.Data;

/// <summary>
/// The ImageNet training augmentation (torchvision references/classification with the MobileNet-family colour
/// jitter): Inception crop, resize, horizontal flip, colour jitter, normalise. Defaults are the recipe's values.
/// </summary>
public sealed record TrainAugmentationOptions
{
    /// <summary>Output side in pixels. Default 224.</summary>
    public int Size { get; init; } = 224;

    /// <summary>Smallest crop area as a fraction of the image (torchvision RandomResizedCrop scale[0]). Default 0.08.</summary>
    public double MinScale { get; init; } = 0.08;

    /// <summary>Largest crop area fraction (scale[1]). Default 1.0.</summary>
    public double MaxScale { get; init; } = 1.0;

    /// <summary>Smallest crop aspect ratio w/h (ratio[0]). Default 3/4.</summary>
    public double MinRatio { get; init; } = 3.0 / 4.0;

    /// <summary>Largest crop aspect ratio w/h (ratio[1]). Default 4/3.</summary>
    public double MaxRatio { get; init; } = 4.0 / 3.0;

    /// <summary>Interpolation for resizing the crop. Default <see cref="ResamplingMode.Bilinear"/> (torchvision's default).</summary>
    public ResamplingMode Resampling { get; init; } = ResamplingMode.Bilinear;

    /// <summary>Probability of a left–right mirror. Default 0.5.</summary>
    public double FlipProbability { get; init; } = 0.5;

    /// <summary>Brightness jitter strength (factor from U(1−s, 1+s)); 0 disables it. Default 0.4.</summary>
    public double Brightness { get; init; } = 0.4;

    /// <summary>Contrast jitter strength; 0 disables it. Default 0.4.</summary>
    public double Contrast { get; init; } = 0.4;

    /// <summary>Saturation jitter strength; 0 disables it. Default 0.4.</summary>
    public double Saturation { get; init; } = 0.4;

    /// <summary>Channel statistics to normalise with. Default <see cref="NormalizationStatistics.ImageNet"/>.</summary>
    public NormalizationStatistics Normalization { get; init; } = NormalizationStatistics.ImageNet;

    /// <summary>Throws an <see cref="ArgumentOutOfRangeException"/> naming the first invalid value and what to use instead.</summary>
    public void Validate()
    {
        if (Size <= 0)
            throw new ArgumentOutOfRangeException(nameof(Size), Size, $"Size must be positive (224 for ImageNet); got {Size}.");
        if (!(MinScale > 0 && MinScale <= MaxScale && MaxScale <= 1))
            throw new ArgumentOutOfRangeException(nameof(MinScale), $"Need 0 < MinScale ≤ MaxScale ≤ 1 (0.08 and 1.0); got {MinScale} and {MaxScale}.");
        if (!(MinRatio > 0 && MinRatio <= MaxRatio) || double.IsInfinity(MaxRatio))
            throw new ArgumentOutOfRangeException(nameof(MinRatio), $"Need 0 < MinRatio ≤ MaxRatio (3/4 and 4/3); got {MinRatio} and {MaxRatio}.");
        if (!(FlipProbability >= 0 && FlipProbability <= 1))
            throw new ArgumentOutOfRangeException(nameof(FlipProbability), FlipProbability, $"FlipProbability must lie in [0, 1] (0.5); got {FlipProbability}.");
        foreach (var (name, s) in new[] { (nameof(Brightness), Brightness), (nameof(Contrast), Contrast), (nameof(Saturation), Saturation) })
            if (!(s >= 0) || double.IsInfinity(s))
                throw new ArgumentOutOfRangeException(name, s, $"{name} must be a finite number ≥ 0 (0 disables it; the recipe uses 0.4); got {s}.");
        if (!Enum.IsDefined(Resampling))
            throw new ArgumentOutOfRangeException(nameof(Resampling), Resampling, "Use Bilinear or Bicubic.");
        ArgumentNullException.ThrowIfNull(Normalization);
        Normalization.Validate();
    }
}
