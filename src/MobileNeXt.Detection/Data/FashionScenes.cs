using MobileNeXt.Training.Data;
using SkiaSharp;

namespace MobileNeXt.Detection.Data;

/// <summary>How <see cref="FashionScenes"/> composes its images.</summary>
public sealed record FashionScenesOptions
{
    /// <summary>Images in the set. Default 2000.</summary>
    public int Count { get; init; } = 2000;

    /// <summary>Side of the square images in pixels. Default 320 (SSDLite320's input).</summary>
    public int ImageSize { get; init; } = 320;

    /// <summary>Fewest and most garments per image. Default 1 and 4.</summary>
    public int MinObjects { get; init; } = 1;

    /// <summary>Most garments per image.</summary>
    public int MaxObjects { get; init; } = 4;

    /// <summary>Smallest and largest side of a pasted garment, as a fraction of <see cref="ImageSize"/>. Default 0.12 and 0.5.</summary>
    public double MinScale { get; init; } = 0.12;

    /// <summary>Largest side of a pasted garment, as a fraction of the image.</summary>
    public double MaxScale { get; init; } = 0.5;

    /// <summary>Seed of every random choice: the same seed gives the same images and boxes.</summary>
    public int Seed { get; init; }

    /// <summary>Which Fashion-MNIST split the garments come from (train scenes from train garments, test from test).</summary>
    public FashionMnistSplit Split { get; init; } = FashionMnistSplit.Train;

    internal void Validate()
    {
        if (Count < 1) throw new ArgumentOutOfRangeException(nameof(Count), Count, "Count must be at least 1.");
        if (ImageSize < 32) throw new ArgumentOutOfRangeException(nameof(ImageSize), ImageSize, "ImageSize must be at least 32.");
        if (MinObjects < 1 || MaxObjects < MinObjects) throw new ArgumentOutOfRangeException(nameof(MaxObjects), MaxObjects, "Need 1 ≤ MinObjects ≤ MaxObjects.");
        if (MinScale <= 0 || MaxScale > 1 || MaxScale < MinScale) throw new ArgumentOutOfRangeException(nameof(MaxScale), MaxScale, "Need 0 < MinScale ≤ MaxScale ≤ 1.");
    }
}

/// <summary>
/// A detection set that needs nothing downloaded: scenes composed from Fashion-MNIST garments (Debian's
/// dataset-fashion-mnist) pasted at random positions and sizes, in random colours, on textured backgrounds (stripes of
/// two colours at a random angle and frequency, with pixel noise). Boxes are exact: the bounds of the pixels the
/// garment draws (its 28×28 image resampled bilinearly to the paste size; opacity ≥ 1/255, the rest is not drawn). Garments do not overlap (a placement that would is drawn again, up to
/// 50 times, then the scene has fewer). Deterministic by <see cref="FashionScenesOptions.Seed"/> and index, so any
/// image can be drawn alone, on any thread.
/// </summary>
public sealed class FashionScenes : IDetectionDataset
{
    private readonly FashionMnistDataset garments;
    private readonly ObjectBox[][] objects;
    private readonly Placement[][] placements;

    private readonly record struct Placement(int Garment, int X, int Y, int Side, byte R, byte G, byte B);

    /// <summary>Lays out every scene (pixels are drawn on demand).</summary>
    /// <param name="options">Size, counts and seed; null for the defaults.</param>
    /// <param name="fashionMnistFolder">The Fashion-MNIST folder; null for Debian's.</param>
    /// <exception cref="FileNotFoundException">Fashion-MNIST is not installed (the message says how to install it).</exception>
    public FashionScenes(FashionScenesOptions? options = null, string? fashionMnistFolder = null)
    {
        Options = options ?? new FashionScenesOptions();
        Options.Validate();
        garments = new FashionMnistDataset(Options.Split, fashionMnistFolder);
        placements = new Placement[Options.Count][];
        objects = new ObjectBox[Options.Count][];
        for (int i = 0; i < Options.Count; i++) (placements[i], objects[i]) = Layout(i);
    }

    /// <summary>The options the set was made with.</summary>
    public FashionScenesOptions Options { get; }

    /// <inheritdoc/>
    public int Count => Options.Count;

    /// <inheritdoc/>
    public IReadOnlyList<string> Classes => FashionMnistDataset.ClassNames;

    /// <inheritdoc/>
    public IReadOnlyList<ObjectBox> GetObjects(int index) => objects[index];

    // SeedMixer, not HashCode.Combine (salted per process): another process (a resumed run, 'mobilenext eval') must draw the same scenes.
    private Random Rng(int index, int stream) => SeedMixer.CreateRandom(Options.Seed, index, stream, (int)Options.Split);

    private (Placement[], ObjectBox[]) Layout(int index)
    {
        var rng = Rng(index, 0);
        int n = rng.Next(Options.MinObjects, Options.MaxObjects + 1), size = Options.ImageSize;
        var placed = new List<Placement>();
        var boxes = new List<ObjectBox>();
        for (int k = 0, attempts = 0; k < n && attempts < 50 * n; attempts++)
        {
            int garment = rng.Next(garments.Count);
            int side = (int)Math.Round(size * (Options.MinScale + rng.NextDouble() * (Options.MaxScale - Options.MinScale)));
            int x = rng.Next(0, size - side + 1), y = rng.Next(0, size - side + 1);
            var footprint = Footprint(garment, side);
            if (footprint is null) continue; // an empty image (none in Fashion-MNIST, but never a box without pixels)
            var (fx1, fy1, fx2, fy2) = footprint.Value;
            var box = new ObjectBox(garments.GetLabel(garment), x + fx1, y + fy1, x + fx2, y + fy2);
            if (boxes.Any(b => Math.Min(b.X2, box.X2) > Math.Max(b.X1, box.X1) && Math.Min(b.Y2, box.Y2) > Math.Max(b.Y1, box.Y1))) continue;
            // A colour far from mid-grey so every garment stands out from the background's mean.
            byte Channel() => (byte)(rng.Next(2) == 0 ? rng.Next(0, 70) : rng.Next(185, 256));
            placed.Add(new Placement(garment, x, y, side, Channel(), Channel(), Channel()));
            boxes.Add(box);
            k++;
        }
        return (placed.ToArray(), boxes.ToArray());
    }

    /// <summary>Opacity below which a garment pixel is not drawn: it would move a colour byte by less than one.</summary>
    private const float MinAlpha = 1f / 255;

    /// <summary>
    /// The pixels a garment pasted at <paramref name="side"/>×<paramref name="side"/> draws (opacity ≥ 1/255), as
    /// [x1, x2) × [y1, y2) in the paste's own coordinates; null if it draws none.
    /// </summary>
    private (int, int, int, int)? Footprint(int garment, int side)
    {
        int x1 = side, y1 = side, x2 = 0, y2 = 0;
        ForEachDrawn(garments.GetPixels(garment), side, (x, y, _) =>
        {
            x1 = Math.Min(x1, x); y1 = Math.Min(y1, y);
            x2 = Math.Max(x2, x + 1); y2 = Math.Max(y2, y + 1);
        });
        return x2 == 0 ? null : (x1, y1, x2, y2);
    }

    private delegate void DrawnPixel(int x, int y, float alpha);

    /// <summary>The 28×28 grey image resampled bilinearly to side×side, as the opacity of each drawn pixel.</summary>
    private static void ForEachDrawn(ReadOnlySpan<byte> grey, int side, DrawnPixel each)
    {
        float step = 28f / side;
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++)
            {
                float alpha = Bilinear(grey, (x + 0.5f) * step - 0.5f, (y + 0.5f) * step - 0.5f) / 255f;
                if (alpha >= MinAlpha) each(x, y, alpha);
            }
    }

    /// <inheritdoc/>
    public SKBitmap LoadImage(int index) => Draw(index, withGarments: true);

    /// <summary>Image <paramref name="index"/>, or only its background (for tests of the boxes).</summary>
    internal SKBitmap Draw(int index, bool withGarments)
    {
        int size = Options.ImageSize;
        var rgba = new byte[size * size * 4];
        var rng = Rng(index, 1);
        // Background: two colours in stripes at a random angle and period, plus uniform noise of ±24.
        var (c0, c1) = (RandomColour(rng), RandomColour(rng));
        double angle = rng.NextDouble() * Math.PI, period = 8 + rng.NextDouble() * 56;
        double cos = Math.Cos(angle), sin = Math.Sin(angle);
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
            {
                double t = 0.5 + 0.5 * Math.Sin(2 * Math.PI * (x * cos + y * sin) / period);
                int o = (y * size + x) * 4;
                for (int c = 0; c < 3; c++)
                    rgba[o + c] = (byte)Math.Clamp(c0[c] + t * (c1[c] - c0[c]) + rng.Next(-24, 25), 0, 255);
                rgba[o + 3] = 255;
            }
        if (withGarments)
            foreach (var p in placements[index])
                ForEachDrawn(garments.GetPixels(p.Garment), p.Side, (x, y, alpha) =>
                {
                    int o = ((p.Y + y) * size + p.X + x) * 4;
                    rgba[o] = (byte)(rgba[o] * (1 - alpha) + p.R * alpha + 0.5f);
                    rgba[o + 1] = (byte)(rgba[o + 1] * (1 - alpha) + p.G * alpha + 0.5f);
                    rgba[o + 2] = (byte)(rgba[o + 2] * (1 - alpha) + p.B * alpha + 0.5f);
                });
        var bitmap = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque));
        System.Runtime.InteropServices.Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        return bitmap;
    }

    private static int[] RandomColour(Random rng) => [rng.Next(40, 216), rng.Next(40, 216), rng.Next(40, 216)];

    private static float Bilinear(ReadOnlySpan<byte> grey, float u, float v)
    {
        int x0 = (int)MathF.Floor(u), y0 = (int)MathF.Floor(v);
        float fx = u - x0, fy = v - y0;
        return (1 - fy) * ((1 - fx) * At(grey, x0, y0) + fx * At(grey, x0 + 1, y0)) + fy * ((1 - fx) * At(grey, x0, y0 + 1) + fx * At(grey, x0 + 1, y0 + 1));
    }

    private static float At(ReadOnlySpan<byte> grey, int x, int y) => x is < 0 or > 27 || y is < 0 or > 27 ? 0 : grey[y * 28 + x];
}
