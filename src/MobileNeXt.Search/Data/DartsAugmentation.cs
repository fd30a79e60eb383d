using MobileNeXt.Inference;
using SkiaSharp;

namespace MobileNeXt.Search.Data;

/// <summary>What one sample's augmentation drew.</summary>
/// <param name="Top">Row of the crop in the padded image (0 … 2·padding).</param>
/// <param name="Left">Column of the crop in the padded image.</param>
/// <param name="Flip">Whether the crop is mirrored left–right.</param>
/// <param name="CutoutY">Centre row of the cutout square (0 … size − 1), or −1 for none.</param>
/// <param name="CutoutX">Centre column of the cutout square, or −1 for none.</param>
public sealed record DartsAugmentationDraw(int Top, int Left, bool Flip, int CutoutY, int CutoutX);

/// <summary>
/// DARTS's per-sample transform (<see cref="DartsAugmentationOptions"/>), written out with an explicit generator so a
/// run's every sample is reproducible from (seed, epoch, index). Random draws happen in torchvision's order: crop row,
/// crop column, flip, then cutout centre row and column (<c>utils.Cutout</c>: <c>np.random.randint(h)</c>,
/// <c>np.random.randint(w)</c>).
/// </summary>
public sealed class DartsAugmentation : ISampleTransform
{
    /// <summary>A transform with <paramref name="options"/> (DARTS's search-time training pipeline by default).</summary>
    public DartsAugmentation(DartsAugmentationOptions? options = null)
    {
        Options = options ?? new DartsAugmentationOptions();
        Options.Validate();
    }

    /// <summary>The settings in use.</summary>
    public DartsAugmentationOptions Options { get; }

    /// <inheritdoc />
    public int OutputHeight => Options.Size;

    /// <inheritdoc />
    public int OutputWidth => Options.Size;

    /// <summary>Draws one sample's augmentation (the identity draw when <see cref="DartsAugmentationOptions.Train"/> is off).</summary>
    public DartsAugmentationDraw Sample(Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var o = Options;
        if (!o.Train) return new DartsAugmentationDraw(o.Padding, o.Padding, false, -1, -1);
        int top = rng.Next(2 * o.Padding + 1), left = rng.Next(2 * o.Padding + 1);
        bool flip = rng.NextDouble() < o.FlipProbability;
        int cy = -1, cx = -1;
        if (o.CutoutLength > 0) { cy = rng.Next(o.Size); cx = rng.Next(o.Size); }
        return new DartsAugmentationDraw(top, left, flip, cy, cx);
    }

    /// <summary>
    /// The rows and columns the cutout zeroes, [y1, y2) × [x1, x2): the square of side <paramref name="length"/> centred
    /// at (<paramref name="y"/>, <paramref name="x"/>), clipped to the image (<c>utils.Cutout</c>: <c>np.clip(y ∓ length // 2, 0, h)</c>).
    /// </summary>
    public static (int Y1, int Y2, int X1, int X2) CutoutBox(int y, int x, int length, int size) =>
        (Math.Clamp(y - length / 2, 0, size), Math.Clamp(y + length / 2, 0, size),
         Math.Clamp(x - length / 2, 0, size), Math.Clamp(x + length / 2, 0, size));

    /// <inheritdoc />
    public void Apply(SKBitmap image, Random rng, Span<float> destination) => Apply(image, Sample(rng), destination);

    /// <summary>Applies a drawn augmentation: crop from the zero-padded image, mirror, scale to [0, 1], normalise, cut out.</summary>
    /// <exception cref="ArgumentException">The image is larger than the output size, not RGBA8888, or the destination has the wrong length.</exception>
    public void Apply(SKBitmap image, DartsAugmentationDraw draw, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(draw);
        int size = Options.Size, n = size * size, pad = Options.Padding;
        if (image.Width > size || image.Height > size)
            throw new ArgumentException($"A {image.Width}×{image.Height} image does not fit the {size}×{size} output; DARTS's pipeline crops with padding only, it does not resize.", nameof(image));
        if (image.ColorType != SKColorType.Rgba8888)
            throw new ArgumentException($"Expected an RGBA8888 bitmap, got {image.ColorType}. Decode with ImageDecoding.", nameof(image));
        if (destination.Length != 3 * n)
            throw new ArgumentException($"Destination holds {destination.Length} values; a 3×{size}×{size} image needs {3 * n}.", nameof(destination));
        // the image centred on a size² canvas, then padded by `pad`: output (y, x) reads canvas (top + y − pad, left + x − pad)
        int offsetY = (size - image.Height) / 2, offsetX = (size - image.Width) / 2;
        ReadOnlySpan<byte> pixels = image.GetPixelSpan();
        int rowBytes = image.RowBytes;
        const float scale = 1f / 255f;
        destination.Clear();
        for (int y = 0; y < size; y++)
        {
            int sy = draw.Top + y - pad - offsetY;
            if (sy < 0 || sy >= image.Height) continue;
            for (int x = 0; x < size; x++)
            {
                int cx = draw.Flip ? size - 1 - x : x;
                int sx = draw.Left + cx - pad - offsetX;
                if (sx < 0 || sx >= image.Width) continue;
                int src = sy * rowBytes + 4 * sx, o = y * size + x;
                destination[o] = pixels[src] * scale;
                destination[n + o] = pixels[src + 1] * scale;
                destination[2 * n + o] = pixels[src + 2] * scale;
            }
        }
        var stats = Options.Normalization; // torchvision's Normalize, before the cutout (utils.py appends Cutout last)
        for (int c = 0; c < 3; c++)
        {
            float mean = stats.Mean[c], std = stats.Std[c];
            foreach (ref float v in destination.Slice(c * n, n)) v = (v - mean) / std;
        }
        if (draw.CutoutY < 0 || Options.CutoutLength == 0) return;
        var (y1, y2, x1, x2) = CutoutBox(draw.CutoutY, draw.CutoutX, Options.CutoutLength, size);
        for (int c = 0; c < 3; c++)
            for (int y = y1; y < y2; y++)
                destination.Slice(c * n + y * size + x1, x2 - x1).Clear();
    }
}
