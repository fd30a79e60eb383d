using SkiaSharp;

namespace MobileNeXt.Training.Data;

/// <summary>How <see cref="SyntheticShapesDataset"/> generates its images.</summary>
public sealed record SyntheticShapesOptions
{
    /// <summary>Largest <see cref="NumClasses"/>: five shapes × eight colours.</summary>
    public const int MaxClasses = 40;

    /// <summary>Number of classes, 2 to <see cref="MaxClasses"/>. Class k is shape k mod 5 in colour ⌊k / 5⌋. Default 10.</summary>
    public int NumClasses { get; init; } = 10;

    /// <summary>Number of samples; sample i has label i mod NumClasses, so classes are balanced. Default 1000.</summary>
    public int Count { get; init; } = 1000;

    /// <summary>Side of the square images in pixels (at least 16). Default 64.</summary>
    public int ImageSize { get; init; } = 64;

    /// <summary>Seed; sample i is drawn from Random(mix(Seed, i)). Default 0.</summary>
    public int Seed { get; init; }

    /// <summary>Throws an <see cref="ArgumentOutOfRangeException"/> naming the first invalid value and what to use instead.</summary>
    public void Validate()
    {
        if (NumClasses < 2 || NumClasses > MaxClasses)
            throw new ArgumentOutOfRangeException(nameof(NumClasses), NumClasses, $"NumClasses must lie in [2, {MaxClasses}] (5 shapes × 8 colours); got {NumClasses}.");
        if (Count <= 0)
            throw new ArgumentOutOfRangeException(nameof(Count), Count, $"Count must be positive; got {Count}.");
        if (ImageSize < 16)
            throw new ArgumentOutOfRangeException(nameof(ImageSize), ImageSize, $"ImageSize must be at least 16 pixels; got {ImageSize}.");
    }
}

/// <summary>
/// A generated dataset that needs nothing installed: coloured shapes (circle, square, triangle, cross, ring) with random
/// size, position, rotation, shade and background, drawn with Skia on demand. Every image is a function of
/// (seed, index), so it is the same on every run and thread. A smoke test for the whole pipeline and the default data
/// when no real dataset is at hand; a small network separates its classes in a few epochs.
/// </summary>
public sealed class SyntheticShapesDataset : IImageDataset
{
    private static readonly string[] Shapes = ["circle", "square", "triangle", "cross", "ring"];

    private static readonly (string Name, SKColor Colour)[] Palette =
    [
        ("red", new SKColor(220, 40, 40)), ("green", new SKColor(40, 190, 60)), ("blue", new SKColor(50, 80, 230)),
        ("yellow", new SKColor(230, 210, 40)), ("magenta", new SKColor(210, 50, 200)), ("cyan", new SKColor(40, 200, 210)),
        ("orange", new SKColor(240, 130, 20)), ("white", new SKColor(235, 235, 235)),
    ];

    /// <summary>Creates the dataset; nothing is drawn until <see cref="LoadImage"/>.</summary>
    public SyntheticShapesDataset(SyntheticShapesOptions? options = null)
    {
        Options = options ?? new SyntheticShapesOptions();
        Options.Validate();
        Classes = [.. Enumerable.Range(0, Options.NumClasses).Select(k => $"{Palette[k / Shapes.Length].Name} {Shapes[k % Shapes.Length]}")];
    }

    /// <summary>The settings in use.</summary>
    public SyntheticShapesOptions Options { get; }

    /// <inheritdoc />
    public int Count => Options.Count;

    /// <inheritdoc />
    public IReadOnlyList<string> Classes { get; }

    /// <inheritdoc />
    public int GetLabel(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return index % Options.NumClasses;
    }

    /// <inheritdoc />
    public SKBitmap LoadImage(int index)
    {
        int label = GetLabel(index), size = Options.ImageSize;
        var rng = SeedMixer.CreateRandom(Options.Seed, index);
        var bitmap = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using var canvas = new SKCanvas(bitmap);

        // Background: a dark-to-mid diagonal gradient of random greys, so shape colour, not brightness, carries the class.
        byte g0 = (byte)rng.Next(0, 90), g1 = (byte)rng.Next(40, 130);
        using (var shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(size, size),
                   [new SKColor(g0, g0, g0), new SKColor(g1, g1, g1)], SKShaderTileMode.Clamp))
        using (var bg = new SKPaint { Shader = shader })
            canvas.DrawRect(0, 0, size, size, bg);

        var baseColour = Palette[label / Shapes.Length].Colour;
        var colour = new SKColor(Shade(baseColour.Red, rng), Shade(baseColour.Green, rng), Shade(baseColour.Blue, rng));
        float radius = size * (0.18f + 0.14f * (float)rng.NextDouble());
        float cx = radius + (float)rng.NextDouble() * (size - 2 * radius);
        float cy = radius + (float)rng.NextDouble() * (size - 2 * radius);
        float angle = 360f * (float)rng.NextDouble();

        using var paint = new SKPaint { Color = colour, IsAntialias = true, Style = SKPaintStyle.Fill };
        canvas.Translate(cx, cy);
        canvas.RotateDegrees(angle);
        switch (label % Shapes.Length)
        {
            case 0: // circle
                canvas.DrawCircle(0, 0, radius, paint);
                break;
            case 1: // square
                canvas.DrawRect(-radius * 0.8f, -radius * 0.8f, radius * 1.6f, radius * 1.6f, paint);
                break;
            case 2: // triangle
                using (var path = new SKPath())
                {
                    path.MoveTo(0, -radius);
                    path.LineTo(radius * 0.866f, radius * 0.5f);
                    path.LineTo(-radius * 0.866f, radius * 0.5f);
                    path.Close();
                    canvas.DrawPath(path, paint);
                }
                break;
            case 3: // cross
                canvas.DrawRect(-radius, -radius * 0.3f, 2 * radius, radius * 0.6f, paint);
                canvas.DrawRect(-radius * 0.3f, -radius, radius * 0.6f, 2 * radius, paint);
                break;
            default: // ring
                paint.Style = SKPaintStyle.Stroke;
                paint.StrokeWidth = radius * 0.35f;
                canvas.DrawCircle(0, 0, radius * 0.8f, paint);
                break;
        }
        canvas.Flush();
        return bitmap;
    }

    private static byte Shade(byte channel, Random rng) => (byte)Math.Clamp(channel + rng.Next(-25, 26), 0, 255);
}
