using MobileNeXt.Detection.Boxes;
using MobileNeXt.Detection.Data;
using MobileNeXt.Inference;
using SkiaSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Detection.Inference;

/// <summary>An object found in an image: class (0-based, no background), its name when known, score, corners in the image's pixels (clipped to the image).</summary>
public sealed record ImageDetection(int Class, string? Name, float Score, float X1, float Y1, float X2, float Y2);

/// <summary>
/// Finds objects in image files, streams or bitmaps with a trained <see cref="SsdLite"/>: the detector's input
/// preprocessing (plain resize to its input size, SSD's mean and scale — <see cref="SsdAugmentation.ToInput"/>, the
/// one the evaluation uses), post-processing, boxes mapped back to the image and clipped to it (the released
/// post-processor leaves a decoded box that reaches past the border as it is; torchvision's detectors clip, and a box
/// in an image's pixels is what a caller draws or crops; one wholly outside is dropped); and drawing them.
/// </summary>
public sealed class ObjectDetector : IDisposable
{
    private readonly SsdLite detector;
    private readonly bool ownsDetector;

    /// <summary>Creates a detector; the model is not changed (a fused eval-mode copy is made unless <paramref name="fuse"/> is false).</summary>
    /// <param name="detector">A trained detector.</param>
    /// <param name="classNames">One name per class (without background), or null for indices only.</param>
    /// <param name="options">Score threshold, NMS IoU and detections kept; null for the released defaults (0.01, 0.45, 100).</param>
    /// <param name="fuse">Fold BatchNorm into the convs (same outputs, faster).</param>
    /// <exception cref="ArgumentException">The names do not match the detector's classes.</exception>
    public ObjectDetector(SsdLite detector, IReadOnlyList<string>? classNames = null, PostProcessingOptions? options = null, bool fuse = true)
    {
        ArgumentNullException.ThrowIfNull(detector);
        if (classNames is not null && classNames.Count != detector.Options.NumClasses - 1)
            throw new ArgumentException($"{classNames.Count} class names were given for a detector of {detector.Options.NumClasses - 1} classes (plus background); give one per class, in order.", nameof(classNames));
        ClassNames = classNames;
        Options = options ?? new PostProcessingOptions();
        Options.Validate();
        ownsDetector = fuse && !detector.IsFused;
        this.detector = ownsDetector ? detector.Fuse() : detector;
    }

    /// <summary>Class names, or null.</summary>
    public IReadOnlyList<string>? ClassNames { get; }

    /// <summary>The post-processing settings.</summary>
    public PostProcessingOptions Options { get; }

    /// <summary>The objects in the image file at <paramref name="path"/> (JPEG or PNG).</summary>
    public IReadOnlyList<ImageDetection> Detect(string path)
    {
        using var bitmap = ImageDecoding.DecodeRgb(path);
        return Detect(bitmap);
    }

    /// <summary>The objects in <paramref name="bitmap"/> (RGBA8888, as <see cref="ImageDecoding"/> decodes).</summary>
    public IReadOnlyList<ImageDetection> Detect(SKBitmap bitmap)
    {
        ArgumentNullException.ThrowIfNull(bitmap);
        int size = detector.Options.ImageSize;
        var (chw, _) = SsdAugmentation.ToInput(DetectionImage.FromBitmap(bitmap, []), size);
        using var input = tensor(chw, [1, 3, size, size]);
        float w = bitmap.Width, h = bitmap.Height, sx = w / size, sy = h / size;
        return detector.Detect(input, Options)[0]
            .Select(d => new ImageDetection(d.Label - 1, ClassNames?[d.Label - 1], d.Score,
                Math.Clamp(d.X1 * sx, 0, w), Math.Clamp(d.Y1 * sy, 0, h), Math.Clamp(d.X2 * sx, 0, w), Math.Clamp(d.Y2 * sy, 0, h)))
            .Where(d => d.X2 > d.X1 && d.Y2 > d.Y1) // a box wholly outside the image clips to nothing
            .ToList();
    }

    /// <summary>Draws <paramref name="detections"/> on a copy of <paramref name="bitmap"/>: a box per object, its name (or class) and score above it.</summary>
    public static SKBitmap Annotate(SKBitmap bitmap, IEnumerable<ImageDetection> detections)
    {
        ArgumentNullException.ThrowIfNull(bitmap);
        var copy = bitmap.Copy();
        using var canvas = new SKCanvas(copy);
        float stroke = Math.Max(2, Math.Min(bitmap.Width, bitmap.Height) / 200f);
        using var font = new SKFont(SKTypeface.Default, Math.Max(12, stroke * 6));
        foreach (var d in detections)
        {
            var colour = Palette[d.Class % Palette.Length];
            using var box = new SKPaint { Color = colour, Style = SKPaintStyle.Stroke, StrokeWidth = stroke, IsAntialias = false };
            canvas.DrawRect(SKRect.Create(d.X1, d.Y1, d.X2 - d.X1, d.Y2 - d.Y1), box);
            string text = $"{d.Name ?? d.Class.ToString(System.Globalization.CultureInfo.InvariantCulture)} {d.Score:0.00}";
            using var label = new SKPaint { Color = colour, IsAntialias = true };
            canvas.DrawText(text, d.X1, Math.Max(font.Size, d.Y1 - stroke), font, label);
        }
        return copy;
    }

    /// <summary>Distinct colours for classes (Tableau 10).</summary>
    private static readonly SKColor[] Palette =
    [
        new(0x4E, 0x79, 0xA7), new(0xF2, 0x8E, 0x2B), new(0xE1, 0x57, 0x59), new(0x76, 0xB7, 0xB2), new(0x59, 0xA1, 0x4F),
        new(0xED, 0xC9, 0x48), new(0xB0, 0x7A, 0xA1), new(0xFF, 0x9D, 0xA7), new(0x9C, 0x75, 0x5F), new(0xBA, 0xB0, 0xAC),
    ];

    /// <inheritdoc/>
    public void Dispose()
    {
        if (ownsDetector) detector.Dispose();
    }
}
