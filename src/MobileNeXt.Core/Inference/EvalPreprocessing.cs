using SkiaSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Inference;

/// <summary>
/// The one definition of evaluation preprocessing, shared by the trainer's validation and the inference classifier
/// so both see the same pixels: resize the shorter side to <see cref="ResizeSize"/> (bicubic by default), centre-crop
/// <see cref="CropSize"/>², scale to [0, 1], normalise. torchvision's <c>Resize(256) → CenterCrop(224) → ToTensor() →
/// Normalize</c>, with its size and offset rounding. Deterministic: the generator passed to <see cref="Apply(SKBitmap, Random, Span{float})"/> is unused.
/// </summary>
public sealed class EvalPreprocessing : ISampleTransform
{
    /// <summary>Creates the preprocessing; the defaults are the ImageNet evaluation's (256 → 224, bicubic, ImageNet statistics).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive or the crop is larger than the resize.</exception>
    public EvalPreprocessing(int resizeSize = 256, int cropSize = 224, ResamplingMode resampling = ResamplingMode.Bicubic,
        NormalizationStatistics? normalization = null)
    {
        if (cropSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(cropSize), cropSize, $"The crop size must be positive (224 for ImageNet); got {cropSize}.");
        if (resizeSize < cropSize)
            throw new ArgumentOutOfRangeException(nameof(resizeSize), resizeSize,
                $"The resize size ({resizeSize}) must be at least the crop size ({cropSize}); ImageNet uses 256 → 224 (crop = resize × 0.875).");
        if (!Enum.IsDefined(resampling))
            throw new ArgumentOutOfRangeException(nameof(resampling), resampling, "Use Bilinear or Bicubic.");
        ResizeSize = resizeSize;
        CropSize = cropSize;
        Resampling = resampling;
        Normalization = normalization ?? NormalizationStatistics.ImageNet;
        Normalization.Validate();
    }

    /// <summary>The ImageNet evaluation: 256 → 224, bicubic, ImageNet statistics.</summary>
    public static EvalPreprocessing ImageNet { get; } = new();

    /// <summary>Target length of the shorter side before cropping.</summary>
    public int ResizeSize { get; }

    /// <summary>Side of the square centre crop.</summary>
    public int CropSize { get; }

    /// <summary>Interpolation of the resize.</summary>
    public ResamplingMode Resampling { get; }

    /// <summary>Channel statistics.</summary>
    public NormalizationStatistics Normalization { get; }

    /// <inheritdoc />
    public int OutputHeight => CropSize;

    /// <inheritdoc />
    public int OutputWidth => CropSize;

    /// <summary>
    /// Size after the resize, as torchvision computes it: the shorter side becomes <see cref="ResizeSize"/>, the longer
    /// <c>int(ResizeSize · long / short)</c> (truncated).
    /// </summary>
    public (int Width, int Height) ResizedSize(int width, int height)
    {
        if (width <= 0 || height <= 0)
            throw new ArgumentOutOfRangeException(nameof(width), $"Image size must be positive; got {width}×{height}.");
        int shortSide = Math.Min(width, height), longSide = Math.Max(width, height);
        int newLong = (int)((long)ResizeSize * longSide / shortSide);
        return width <= height ? (ResizeSize, newLong) : (newLong, ResizeSize);
    }

    /// <summary>The centre crop of a <paramref name="width"/>×<paramref name="height"/> image: offsets <c>int(round((side − crop) / 2))</c>, as torchvision's center_crop.</summary>
    public CropBox CentreCrop(int width, int height) => new(
        (int)Math.Round((height - CropSize) / 2.0, MidpointRounding.ToEven),
        (int)Math.Round((width - CropSize) / 2.0, MidpointRounding.ToEven),
        CropSize, CropSize);

    /// <inheritdoc />
    public void Apply(SKBitmap image, Random rng, Span<float> destination) => Apply(image, destination);

    /// <summary>Preprocesses <paramref name="image"/> into <paramref name="destination"/> (3·CropSize² floats, planes R, G, B).</summary>
    public void Apply(SKBitmap image, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        var (w, h) = ResizedSize(image.Width, image.Height);
        using var resized = PixelOps.ResizeRegion(image, new SKRectI(0, 0, image.Width, image.Height), w, h, Resampling);
        PixelOps.ToUnitChw(resized, CentreCrop(w, h), flip: false, destination);
        PixelOps.Normalize(destination, Normalization);
    }

    /// <summary>Preprocesses one image into a 1×3×CropSize×CropSize float32 tensor (a batch of one), ready for a model.</summary>
    public Tensor ToTensor(SKBitmap image)
    {
        TorchRuntime.EnsureAvailable();
        var data = new float[3 * CropSize * CropSize];
        Apply(image, data);
        return tensor(data, [1, 3, CropSize, CropSize]);
    }

    /// <summary>Decodes <paramref name="path"/> (see <see cref="ImageDecoding.DecodeRgb(string)"/>) and preprocesses it into a 1×3×CropSize×CropSize tensor.</summary>
    public Tensor LoadTensor(string path)
    {
        using var image = ImageDecoding.DecodeRgb(path);
        return ToTensor(image);
    }

    /// <summary>Preprocesses several images into one N×3×CropSize×CropSize float32 batch.</summary>
    public Tensor ToBatch(IReadOnlyList<SKBitmap> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0)
            throw new ArgumentException("Pass at least one image.", nameof(images));
        TorchRuntime.EnsureAvailable();
        int per = 3 * CropSize * CropSize;
        var data = new float[images.Count * per];
        for (int i = 0; i < images.Count; i++)
            Apply(images[i], data.AsSpan(i * per, per));
        return tensor(data, [images.Count, 3, CropSize, CropSize]);
    }
}
