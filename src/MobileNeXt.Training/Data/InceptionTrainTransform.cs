using MobileNeXt.Inference;
using SkiaSharp;

namespace MobileNeXt.Training.Data;

/// <summary>Everything one training sample's augmentation drew: where to crop, whether to mirror, how to jitter colour.</summary>
/// <param name="Crop">The crop box in source pixels.</param>
/// <param name="Flip">Whether the result is mirrored left–right.</param>
/// <param name="ColorJitter">The colour adjustments, in order.</param>
public sealed record AugmentationParameters(CropBox Crop, bool Flip, ColorJitterParameters ColorJitter);

/// <summary>
/// The training transform, torchvision's <c>Compose([RandomResizedCrop(224), RandomHorizontalFlip(), ColorJitter(0.4, 0.4, 0.4),
/// ToTensor(), Normalize(mean, std)])</c> written per sample with an explicit generator. Random draws happen in that
/// order: crop, flip, jitter order and factors.
/// </summary>
public sealed class InceptionTrainTransform : ISampleTransform
{
    /// <summary>Creates the transform; <paramref name="options"/> default to the recipe's values.</summary>
    public InceptionTrainTransform(TrainAugmentationOptions? options = null)
    {
        Options = options ?? new TrainAugmentationOptions();
        Options.Validate();
    }

    /// <summary>The settings in use.</summary>
    public TrainAugmentationOptions Options { get; }

    /// <inheritdoc />
    public int OutputHeight => Options.Size;

    /// <inheritdoc />
    public int OutputWidth => Options.Size;

    /// <summary>Draws the augmentation of one <paramref name="width"/>×<paramref name="height"/> image from <paramref name="rng"/>.</summary>
    public AugmentationParameters SampleParameters(int width, int height, Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var o = Options;
        var crop = InceptionCrop.Sample(width, height, rng, o.MinScale, o.MaxScale, o.MinRatio, o.MaxRatio);
        bool flip = rng.NextDouble() < o.FlipProbability;
        var jitter = ColorJitter.Sample(rng, o.Brightness, o.Contrast, o.Saturation);
        return new AugmentationParameters(crop, flip, jitter);
    }

    /// <inheritdoc />
    public void Apply(SKBitmap image, Random rng, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        Apply(image, SampleParameters(image.Width, image.Height, rng), destination);
    }

    /// <summary>Applies drawn <paramref name="parameters"/> to <paramref name="image"/>, writing 3×Size×Size floats.</summary>
    public void Apply(SKBitmap image, AugmentationParameters parameters, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(parameters);
        var c = parameters.Crop;
        int size = Options.Size;
        using var resized = PixelOps.ResizeRegion(image, new SKRectI(c.Left, c.Top, c.Left + c.Width, c.Top + c.Height), size, size, Options.Resampling);
        FusedPixelPass.Apply(resized, parameters.Flip, parameters.ColorJitter, Options.Normalization, destination);
    }
}
