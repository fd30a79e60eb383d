using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using MobileNeXt.Inference;
using SkiaSharp;

namespace MobileNeXt.Training.Data;

/// <summary>
/// The training transform's pixel steps after the resize, <c>ToTensor → ColorJitter → Normalize</c>, done in one
/// vectorised sweep over the image (two when a contrast step needs the mean grey of the image before it). Each element
/// goes through the same float operations in the same order as the scalar reference (<see cref="PixelOps.ToUnitChw"/>,
/// <see cref="ColorJitter.Apply"/>, <see cref="PixelOps.Normalize"/>), with no fused multiply-adds, so the results
/// are the reference's; only the contrast mean is summed in another order, in double, which for these inputs is exact.
/// </summary>
internal static class FusedPixelPass
{
    private const float Scale = 1f / 255f; // as PixelOps.ToUnitChw: multiply by the float reciprocal

    /// <summary>Writes the whole of <paramref name="bitmap"/> (RGBA8888) as normalised 3×H×W floats; see the class remarks.</summary>
    // Fully optimised from the first call: the loops run a few hundred times per epoch, and tiering left the first
    // epochs on slower code.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Apply(SKBitmap bitmap, bool flip, ColorJitterParameters jitter, NormalizationStatistics stats, Span<float> chw)
    {
        ArgumentNullException.ThrowIfNull(bitmap);
        ArgumentNullException.ThrowIfNull(jitter);
        ArgumentNullException.ThrowIfNull(stats);
        int width = bitmap.Width, height = bitmap.Height, n = width * height;
        if (chw.Length != 3 * n)
            throw new ArgumentException($"Destination holds {chw.Length} values; a 3×{height}×{width} image needs {3 * n}.", nameof(chw));
        if (bitmap.ColorType != SKColorType.Rgba8888)
            throw new ArgumentException($"Expected an RGBA8888 bitmap, got {bitmap.ColorType}. Decode with ImageDecoding.", nameof(bitmap));
        if (!Vector256.IsHardwareAccelerated)
        {
            ApplyScalar(bitmap, flip, jitter, stats, chw);
            return;
        }

        var steps = jitter.Steps;
        int contrast = -1;
        for (int s = 0; s < steps.Count; s++)
            if (steps[s].Adjustment == ColorAdjustment.Contrast) { contrast = s; break; }
        var before = new Pipeline(steps, 0, contrast < 0 ? steps.Count : contrast, normalize: contrast < 0 ? stats : null);
        double greySum = Convert(bitmap, flip, before, accumulateGrey: contrast >= 0, chw);
        if (contrast < 0)
            return;

        // The contrast step blends with the mean grey of the image as it is after the steps before it.
        float f = steps[contrast].Factor;
        float blend = (1 - f) * (float)(greySum / n);
        var after = new Pipeline(steps, contrast + 1, steps.Count, stats);
        Span<float> r = chw[..n], g = chw.Slice(n, n), b = chw.Slice(2 * n, n);
        ref float r0 = ref MemoryMarshal.GetReference(r), g0 = ref MemoryMarshal.GetReference(g), b0 = ref MemoryMarshal.GetReference(b);
        var fv = Vector256.Create(f);
        var blendv = Vector256.Create(blend);
        int i = 0;
        for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
        {
            var rv = Clamp01(fv * Vector256.LoadUnsafe(ref r0, (nuint)i) + blendv);
            var gv = Clamp01(fv * Vector256.LoadUnsafe(ref g0, (nuint)i) + blendv);
            var bv = Clamp01(fv * Vector256.LoadUnsafe(ref b0, (nuint)i) + blendv);
            after.Run(ref rv, ref gv, ref bv);
            rv.StoreUnsafe(ref r0, (nuint)i);
            gv.StoreUnsafe(ref g0, (nuint)i);
            bv.StoreUnsafe(ref b0, (nuint)i);
        }
        for (; i < n; i++)
        {
            float rs = ColorJitter.Clamp01(f * r[i] + blend), gs = ColorJitter.Clamp01(f * g[i] + blend), bs = ColorJitter.Clamp01(f * b[i] + blend);
            after.Run(ref rs, ref gs, ref bs);
            (r[i], g[i], b[i]) = (rs, gs, bs);
        }
    }

    /// <summary>The reference: the three scalar steps one after the other.</summary>
    public static void ApplyScalar(SKBitmap bitmap, bool flip, ColorJitterParameters jitter, NormalizationStatistics stats, Span<float> chw)
    {
        PixelOps.ToUnitChw(bitmap, new CropBox(0, 0, bitmap.Height, bitmap.Width), flip, chw);
        ColorJitter.Apply(jitter, chw);
        PixelOps.Normalize(chw, stats);
    }

    /// <summary>Bytes to [0, 1] floats (mirrored if asked), then <paramref name="pipeline"/>; returns the sum of the results' grey levels when asked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double Convert(SKBitmap bitmap, bool flip, Pipeline pipeline, bool accumulateGrey, Span<float> chw)
    {
        int width = bitmap.Width, height = bitmap.Height, n = width * height, rowBytes = bitmap.RowBytes;
        ReadOnlySpan<byte> pixels = bitmap.GetPixelSpan();
        ref float r0 = ref MemoryMarshal.GetReference(chw);
        ref float g0 = ref Unsafe.Add(ref r0, n), b0 = ref Unsafe.Add(ref r0, 2 * n);
        var scale = Vector256.Create(Scale);
        var low = Vector256.Create(0xFFu);
        var reverse = Vector256.Create(7u, 6, 5, 4, 3, 2, 1, 0);
        var sumLow = Vector256<double>.Zero;
        var sumHigh = Vector256<double>.Zero;
        double tailSum = 0;
        for (int y = 0; y < height; y++)
        {
            ref uint row = ref Unsafe.As<byte, uint>(ref MemoryMarshal.GetReference(pixels.Slice(y * rowBytes, 4 * width)));
            int o = y * width, x = 0;
            for (; x <= width - Vector256<float>.Count; x += Vector256<float>.Count)
            {
                var px = flip
                    ? Vector256.Shuffle(Vector256.LoadUnsafe(ref row, (nuint)(width - Vector256<float>.Count - x)), reverse)
                    : Vector256.LoadUnsafe(ref row, (nuint)x);
                var rv = Vector256.ConvertToSingle((px & low).AsInt32()) * scale;
                var gv = Vector256.ConvertToSingle((Vector256.ShiftRightLogical(px, 8) & low).AsInt32()) * scale;
                var bv = Vector256.ConvertToSingle((Vector256.ShiftRightLogical(px, 16) & low).AsInt32()) * scale;
                pipeline.Run(ref rv, ref gv, ref bv);
                if (accumulateGrey)
                {
                    var (lo, hi) = Vector256.Widen(Grey(rv, gv, bv));
                    sumLow += lo;
                    sumHigh += hi;
                }
                rv.StoreUnsafe(ref r0, (nuint)(o + x));
                gv.StoreUnsafe(ref g0, (nuint)(o + x));
                bv.StoreUnsafe(ref b0, (nuint)(o + x));
            }
            for (; x < width; x++)
            {
                uint p = Unsafe.Add(ref row, flip ? width - 1 - x : x);
                float rs = (p & 0xFF) * Scale, gs = (p >> 8 & 0xFF) * Scale, bs = (p >> 16 & 0xFF) * Scale;
                pipeline.Run(ref rs, ref gs, ref bs);
                if (accumulateGrey)
                    tailSum += ColorJitter.Grey(rs, gs, bs);
                Unsafe.Add(ref r0, o + x) = rs;
                Unsafe.Add(ref g0, o + x) = gs;
                Unsafe.Add(ref b0, o + x) = bs;
            }
        }
        return Vector256.Sum(sumLow + sumHigh) + tailSum;
    }

    /// <summary>A run of brightness and saturation steps, optionally followed by Normalize; contrast is handled by the caller.</summary>
    private readonly struct Pipeline
    {
        private readonly (ColorAdjustment Adjustment, float Factor)[] _steps;
        private readonly bool _normalize;
        private readonly float _meanR, _meanG, _meanB, _stdR, _stdG, _stdB; // read once: the statistics are an interface list

        public Pipeline(IReadOnlyList<(ColorAdjustment Adjustment, float Factor)> steps, int from, int to, NormalizationStatistics? normalize)
        {
            _steps = new (ColorAdjustment, float)[to - from];
            for (int s = from; s < to; s++)
            {
                if (steps[s].Adjustment == ColorAdjustment.Contrast)
                    throw new ArgumentException("A jitter draw holds one contrast step at most.", nameof(steps));
                _steps[s - from] = steps[s];
            }
            if (normalize is null)
                return;
            _normalize = true;
            (_meanR, _meanG, _meanB) = (normalize.Mean[0], normalize.Mean[1], normalize.Mean[2]);
            (_stdR, _stdG, _stdB) = (normalize.Std[0], normalize.Std[1], normalize.Std[2]);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run(ref Vector256<float> r, ref Vector256<float> g, ref Vector256<float> b)
        {
            foreach (var (adjustment, f) in _steps)
            {
                var fv = Vector256.Create(f);
                if (adjustment == ColorAdjustment.Brightness)
                {
                    r = Clamp01(fv * r);
                    g = Clamp01(fv * g);
                    b = Clamp01(fv * b);
                }
                else
                {
                    var grey = Vector256.Create(1 - f) * Grey(r, g, b);
                    r = Clamp01(fv * r + grey);
                    g = Clamp01(fv * g + grey);
                    b = Clamp01(fv * b + grey);
                }
            }
            if (_normalize)
            {
                r = (r - Vector256.Create(_meanR)) / Vector256.Create(_stdR);
                g = (g - Vector256.Create(_meanG)) / Vector256.Create(_stdG);
                b = (b - Vector256.Create(_meanB)) / Vector256.Create(_stdB);
            }
        }

        public void Run(ref float r, ref float g, ref float b)
        {
            foreach (var (adjustment, f) in _steps)
            {
                if (adjustment == ColorAdjustment.Brightness)
                {
                    r = ColorJitter.Clamp01(f * r);
                    g = ColorJitter.Clamp01(f * g);
                    b = ColorJitter.Clamp01(f * b);
                }
                else
                {
                    float grey = (1 - f) * ColorJitter.Grey(r, g, b);
                    r = ColorJitter.Clamp01(f * r + grey);
                    g = ColorJitter.Clamp01(f * g + grey);
                    b = ColorJitter.Clamp01(f * b + grey);
                }
            }
            if (_normalize)
            {
                r = (r - _meanR) / _stdR;
                g = (g - _meanG) / _stdG;
                b = (b - _meanB) / _stdB;
            }
        }
    }

    // The luma weights and the left-to-right evaluation of ColorJitter's scalar Grey.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Grey(Vector256<float> r, Vector256<float> g, Vector256<float> b) =>
        Vector256.Create(0.2989f) * r + Vector256.Create(0.587f) * g + Vector256.Create(0.114f) * b;

    // MinNative/MaxNative map to one instruction each; they differ from the scalar clamp only for NaN (none here) and
    // in the sign of a zero, which no later step can tell apart.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Clamp01(Vector256<float> v) =>
        Vector256.MinNative(Vector256.MaxNative(v, Vector256<float>.Zero), Vector256<float>.One);
}
