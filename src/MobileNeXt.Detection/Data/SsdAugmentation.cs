using SkiaSharp;

namespace MobileNeXt.Detection.Data;

/// <summary>An image being augmented: height × width × 3 floats (RGB, 0–255) with its objects in pixels.</summary>
public sealed class DetectionImage
{
    /// <summary>Wraps pixels and objects.</summary>
    public DetectionImage(float[] pixels, int width, int height, IReadOnlyList<ObjectBox> objects)
    {
        if (pixels.Length != width * height * 3) throw new ArgumentException($"Expected {width}×{height}×3 values, got {pixels.Length}.", nameof(pixels));
        Pixels = pixels;
        Width = width;
        Height = height;
        Objects = objects;
    }

    /// <summary>RGB values row by row (HWC), 0–255 as floats.</summary>
    public float[] Pixels { get; }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>The objects, corners in pixels.</summary>
    public IReadOnlyList<ObjectBox> Objects { get; }

    /// <summary>The RGB pixels of an RGBA8888 bitmap.</summary>
    public static DetectionImage FromBitmap(SKBitmap bitmap, IReadOnlyList<ObjectBox> objects)
    {
        var rgba = bitmap.Bytes;
        var pixels = new float[bitmap.Width * bitmap.Height * 3];
        for (int i = 0, j = 0; i < pixels.Length; i += 3, j += 4)
        {
            pixels[i] = rgba[j];
            pixels[i + 1] = rgba[j + 1];
            pixels[i + 2] = rgba[j + 2];
        }
        return new DetectionImage(pixels, bitmap.Width, bitmap.Height, objects);
    }
}

/// <summary>
/// SSD's training augmentation, as the SSD code the paper's detector was trained with runs it (Liu et al. 2016, Sec.
/// 2.2 and 3.6; the SSD repository's <c>transforms.py</c>): photometric distortion, zoom-out ("expand") onto a canvas
/// of the mean colour, the IoU-constrained random crop, horizontal flip — boxes transformed with the pixels — then a
/// plain resize to the input size. Each step is public so it can be tested and reused on its own.
/// </summary>
public static class SsdAugmentation
{
    /// <summary>The SSD code's pixel mean (RGB), the canvas colour of <see cref="Expand"/> and the mean normalisation subtracts.</summary>
    public static readonly float[] Mean = [123, 117, 104];

    /// <summary>Per-channel scale of normalisation: 255 · ImageNet's standard deviation (followon-models.md §B, Input).</summary>
    public static readonly float[] Scale = [255 * 0.229f, 255 * 0.224f, 255 * 0.225f];

    /// <summary>SSD's largest zoom-out: a canvas up to 4 times the image's side.</summary>
    public const double DefaultMaxExpand = 4;

    /// <summary>
    /// All four steps in SSD's order (distort, expand, crop, flip); objects marked difficult are dropped first.
    /// <paramref name="maxExpand"/> is the largest zoom-out canvas side relative to the image (SSD's 4; 1 turns the
    /// zoom-out off, and then it draws nothing from <paramref name="rng"/>).
    /// </summary>
    public static DetectionImage Train(DetectionImage image, Random rng, double maxExpand = DefaultMaxExpand)
    {
        var kept = image.Objects.Where(o => !o.Difficult).ToArray();
        var x = new DetectionImage(image.Pixels, image.Width, image.Height, kept);
        x = PhotometricDistort(x, rng);
        if (maxExpand > 1) x = Expand(x, rng, maxExpand);
        x = RandomCrop(x, rng);
        return Flip(x, rng);
    }

    /// <summary>
    /// Brightness (±32, p ½), then contrast (×0.5–1.5, p ½) either first or last, saturation (×0.5–1.5, p ½) and hue
    /// (±18°, p ½) in HSV, and a random channel order (p ½) — SSD's PhotometricDistort. Values clamp to 0–255.
    /// </summary>
    public static DetectionImage PhotometricDistort(DetectionImage image, Random rng)
    {
        var p = (float[])image.Pixels.Clone();
        if (rng.Next(2) == 1) { float delta = Uniform(rng, -32, 32); for (int i = 0; i < p.Length; i++) p[i] += delta; }
        bool contrastFirst = rng.Next(2) == 1;
        if (contrastFirst) Contrast(p, rng);
        float saturation = rng.Next(2) == 1 ? Uniform(rng, 0.5f, 1.5f) : 1, hue = rng.Next(2) == 1 ? Uniform(rng, -18, 18) : 0;
        if (saturation != 1 || hue != 0) AdjustHsv(p, saturation, hue);
        if (!contrastFirst) Contrast(p, rng);
        if (rng.Next(2) == 1)
        {
            var order = new[] { 0, 1, 2 }.OrderBy(_ => rng.Next()).ToArray();
            for (int i = 0; i < p.Length; i += 3)
            {
                float r = p[i], g = p[i + 1], b = p[i + 2];
                float[] c = [r, g, b];
                p[i] = c[order[0]]; p[i + 1] = c[order[1]]; p[i + 2] = c[order[2]];
            }
        }
        for (int i = 0; i < p.Length; i++) p[i] = Math.Clamp(p[i], 0, 255);
        return new DetectionImage(p, image.Width, image.Height, image.Objects);
    }

    /// <summary>
    /// With p ½: the image placed at a random spot of a canvas 1–<paramref name="maxRatio"/> (SSD's 4) times its size
    /// filled with <see cref="Mean"/> (zoom out).
    /// </summary>
    public static DetectionImage Expand(DetectionImage image, Random rng, double maxRatio = DefaultMaxExpand)
    {
        if (maxRatio < 1) throw new ArgumentOutOfRangeException(nameof(maxRatio), maxRatio, "The zoom-out ratio must be at least 1.");
        if (rng.Next(2) == 0) return image;
        float ratio = Uniform(rng, 1, (float)maxRatio);
        int w = (int)(image.Width * ratio), h = (int)(image.Height * ratio);
        int left = (int)Uniform(rng, 0, w - image.Width), top = (int)Uniform(rng, 0, h - image.Height);
        var canvas = new float[w * h * 3];
        for (int i = 0; i < canvas.Length; i += 3) { canvas[i] = Mean[0]; canvas[i + 1] = Mean[1]; canvas[i + 2] = Mean[2]; }
        for (int y = 0; y < image.Height; y++)
            Array.Copy(image.Pixels, y * image.Width * 3, canvas, ((top + y) * w + left) * 3, image.Width * 3);
        var objects = image.Objects.Select(o => o with { X1 = o.X1 + left, X2 = o.X2 + left, Y1 = o.Y1 + top, Y2 = o.Y2 + top }).ToArray();
        return new DetectionImage(canvas, w, h, objects);
    }

    /// <summary>The minimum IoUs SSD's crop chooses from (null: keep the whole image).</summary>
    private static readonly double?[] CropModes = [null, 0.1, 0.3, 0.7, 0.9, double.NegativeInfinity];

    /// <summary>
    /// SSD's random crop: pick a mode — the whole image, or a crop whose IoU with some object is at least 0.1, 0.3, 0.7
    /// or 0.9, or any — then try up to 50 crops of 0.3–1 of each side with aspect ratio ½–2; a crop is taken when its
    /// IoU with the objects meets the mode's minimum and some object's centre lies inside it. Objects whose centre is
    /// inside are kept, clipped to the crop.
    /// </summary>
    public static DetectionImage RandomCrop(DetectionImage image, Random rng)
    {
        if (image.Objects.Count == 0) return image;
        while (true)
        {
            var mode = CropModes[rng.Next(CropModes.Length)];
            if (mode is null) return image;
            for (int trial = 0; trial < 50; trial++)
            {
                float w = Uniform(rng, 0.3f * image.Width, image.Width), h = Uniform(rng, 0.3f * image.Height, image.Height);
                if (h / w < 0.5f || h / w > 2) continue;
                float left = Uniform(rng, 0, image.Width - w), top = Uniform(rng, 0, image.Height - h);
                int x1 = (int)left, y1 = (int)top, x2 = (int)(left + w), y2 = (int)(top + h);
                double minIou = image.Objects.Min(o => Iou(o, x1, y1, x2, y2));
                if (minIou < mode.Value) continue;
                var inside = image.Objects.Where(o => (o.X1 + o.X2) / 2 > x1 && (o.X1 + o.X2) / 2 < x2 && (o.Y1 + o.Y2) / 2 > y1 && (o.Y1 + o.Y2) / 2 < y2).ToArray();
                if (inside.Length == 0) continue;
                int cw = x2 - x1, ch = y2 - y1;
                var pixels = new float[cw * ch * 3];
                for (int y = 0; y < ch; y++) Array.Copy(image.Pixels, ((y1 + y) * image.Width + x1) * 3, pixels, y * cw * 3, cw * 3);
                var objects = inside.Select(o => o with
                {
                    X1 = Math.Max(o.X1, x1) - x1, Y1 = Math.Max(o.Y1, y1) - y1,
                    X2 = Math.Min(o.X2, x2) - x1, Y2 = Math.Min(o.Y2, y2) - y1,
                }).ToArray();
                return new DetectionImage(pixels, cw, ch, objects);
            }
        }
    }

    /// <summary>With p ½: the mirror image, each box's x → width − x.</summary>
    public static DetectionImage Flip(DetectionImage image, Random rng)
    {
        if (rng.Next(2) == 0) return image;
        var p = new float[image.Pixels.Length];
        int w = image.Width;
        for (int y = 0; y < image.Height; y++)
            for (int x = 0; x < w; x++)
                Array.Copy(image.Pixels, (y * w + x) * 3, p, (y * w + (w - 1 - x)) * 3, 3);
        var objects = image.Objects.Select(o => o with { X1 = w - o.X2, X2 = w - o.X1 }).ToArray();
        return new DetectionImage(p, w, image.Height, objects);
    }

    /// <summary>
    /// Plain (bilinear, half-pixel centres) resize to <paramref name="size"/>², normalised with <see cref="Mean"/> and
    /// <see cref="Scale"/>, as CHW floats; boxes in relative corners (0–1), as the box coder takes them.
    /// </summary>
    public static (float[] Chw, ObjectBox[] Objects) ToInput(DetectionImage image, int size)
    {
        var chw = new float[3 * size * size];
        float sx = (float)image.Width / size, sy = (float)image.Height / size;
        for (int y = 0; y < size; y++)
        {
            float v = Math.Clamp((y + 0.5f) * sy - 0.5f, 0, image.Height - 1);
            int y0 = (int)v, y1 = Math.Min(y0 + 1, image.Height - 1);
            float fy = v - y0;
            for (int x = 0; x < size; x++)
            {
                float u = Math.Clamp((x + 0.5f) * sx - 0.5f, 0, image.Width - 1);
                int x0 = (int)u, x1 = Math.Min(x0 + 1, image.Width - 1);
                float fx = u - x0;
                for (int c = 0; c < 3; c++)
                {
                    float At(int xx, int yy) => image.Pixels[(yy * image.Width + xx) * 3 + c];
                    float value = (1 - fy) * ((1 - fx) * At(x0, y0) + fx * At(x1, y0)) + fy * ((1 - fx) * At(x0, y1) + fx * At(x1, y1));
                    chw[(c * size + y) * size + x] = (value - Mean[c]) / Scale[c];
                }
            }
        }
        var objects = image.Objects.Select(o => o with { X1 = o.X1 / image.Width, X2 = o.X2 / image.Width, Y1 = o.Y1 / image.Height, Y2 = o.Y2 / image.Height }).ToArray();
        return (chw, objects);
    }

    private static double Iou(ObjectBox o, float x1, float y1, float x2, float y2)
    {
        double iw = Math.Min(o.X2, x2) - Math.Max(o.X1, x1), ih = Math.Min(o.Y2, y2) - Math.Max(o.Y1, y1);
        if (iw <= 0 || ih <= 0) return 0;
        double inter = iw * ih;
        return inter / ((double)o.Width * o.Height + (double)(x2 - x1) * (y2 - y1) - inter);
    }

    private static void Contrast(float[] p, Random rng)
    {
        if (rng.Next(2) == 0) return;
        float alpha = Uniform(rng, 0.5f, 1.5f);
        for (int i = 0; i < p.Length; i++) p[i] *= alpha;
    }

    /// <summary>Saturation × <paramref name="saturation"/> and hue + <paramref name="hueDegrees"/> through HSV (values 0–255 in and out).</summary>
    private static void AdjustHsv(float[] p, float saturation, float hueDegrees)
    {
        for (int i = 0; i < p.Length; i += 3)
        {
            float r = Math.Clamp(p[i], 0, 255) / 255, g = Math.Clamp(p[i + 1], 0, 255) / 255, b = Math.Clamp(p[i + 2], 0, 255) / 255;
            float max = Math.Max(r, Math.Max(g, b)), min = Math.Min(r, Math.Min(g, b)), d = max - min;
            float h = d == 0 ? 0 : max == r ? 60 * ((g - b) / d % 6) : max == g ? 60 * ((b - r) / d + 2) : 60 * ((r - g) / d + 4);
            float s = max == 0 ? 0 : d / max;
            h = ((h + hueDegrees) % 360 + 360) % 360;
            s = Math.Clamp(s * saturation, 0, 1);
            float c = max * s, x = c * (1 - Math.Abs(h / 60 % 2 - 1)), m = max - c;
            (float r1, float g1, float b1) = (int)(h / 60) switch
            {
                0 => (c, x, 0f), 1 => (x, c, 0f), 2 => (0f, c, x), 3 => (0f, x, c), 4 => (x, 0f, c), _ => (c, 0f, x),
            };
            p[i] = (r1 + m) * 255; p[i + 1] = (g1 + m) * 255; p[i + 2] = (b1 + m) * 255;
        }
    }

    private static float Uniform(Random rng, float low, float high) => low + (float)rng.NextDouble() * (high - low);
}
