using static TorchSharp.torch;

namespace MobileNeXt.Detection.Boxes;

/// <summary>
/// SSD's assignment of ground truth to priors (Liu et al. 2016, Sec. 2.2; the released code's <c>assign_priors</c>):
/// each prior takes the ground-truth box it overlaps most, and is a positive of that box's class when the IoU is at
/// least the threshold (0.5), background (label 0) otherwise; then every ground-truth box claims its best prior, even
/// below the threshold, so no object goes unmatched.
/// </summary>
/// <remarks>
/// Written on managed arrays in float32, in the operation order of the released tensor code (<c>iou_of</c>,
/// <c>corner_form_to_center_form</c>, <c>convert_boxes_to_locations</c>), rather than as libtorch tensor arithmetic: a
/// few thousand priors against a handful of boxes is a small loop, it runs on the data workers beside the decoding,
/// and it passes libtorch no temporary <see cref="TorchSharp.Scalar"/> (the <c>+ 1</c>, <c>/ 2</c> and comparisons of the
/// tensor form), which a garbage collection started by another thread could finalize while libtorch still reads it
/// (<see cref="MobileNeXt.Layers.KeptScalars"/> explains it; a 1000-scene run died that way after ~450 steps). Only the
/// logarithm of the size ratios is libtorch's (<see cref="FinishLocations"/>, one call for a whole batch): its
/// vectorised log differs from the C library's <c>logf</c> in the last bit for about one value in three, and with it
/// the targets are bit-identical to the tensor form's.
/// </remarks>
public static class PriorMatcher
{
    /// <summary>
    /// Targets for one image: per prior, the class (0 = background, 1.. = the box's class + 1) and the encoded box
    /// regression (SSD coding of the assigned box; meaningful for positives only).
    /// </summary>
    /// <param name="boxes">[G, 4] ground-truth corners (x1, y1, x2, y2), relative to the image (0–1).</param>
    /// <param name="labels">[G] classes, 0-based (no background), int64.</param>
    /// <param name="priors">[P, 4] priors in centre-size form, relative.</param>
    /// <param name="iouThreshold">IoU from which a prior is a positive.</param>
    /// <param name="centerVariance">The coder's centre variance.</param>
    /// <param name="sizeVariance">The coder's size variance.</param>
    /// <returns>[P] int64 classes and [P, 4] float32 regressions, on the CPU.</returns>
    public static (Tensor Labels, Tensor Locations) Match(Tensor boxes, Tensor labels, Tensor priors, double iouThreshold = 0.5,
        double centerVariance = 0.1, double sizeVariance = 0.2)
    {
        ArgumentNullException.ThrowIfNull(boxes);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(priors);
        if (boxes.Dimensions != 2 || boxes.shape[1] != 4)
            throw new ArgumentException($"Ground-truth boxes must be [G, 4] corners, got shape [{string.Join(", ", boxes.shape)}].", nameof(boxes));
        if (labels.Dimensions != 1 || labels.shape[0] != boxes.shape[0])
            throw new ArgumentException($"Expected {boxes.shape[0]} labels, one per box, got shape [{string.Join(", ", labels.shape)}].", nameof(labels));
        var (assigned, locations) = MatchBeforeLog(ToArray<float>(boxes, ScalarType.Float32), ToArray<long>(labels, ScalarType.Int64), CornerPriors.From(priors),
            iouThreshold, centerVariance);
        FinishLocations(locations, sizeVariance);
        return (tensor(assigned, [assigned.Length]), tensor(locations, [assigned.Length, 4]));
    }

    /// <summary>
    /// The matching on arrays, touching no libtorch state (safe on any thread): <paramref name="boxes"/> holds G × 4
    /// corners, <paramref name="labels"/> G classes; returns P classes and P × 4 values that are the regressions except
    /// that the last two of each prior still hold the size ratios w / pw and h / ph: <see cref="FinishLocations"/> turns
    /// them (of one image or of a whole batch at once) into log(ratio) / v_s.
    /// </summary>
    /// <exception cref="ArgumentException">The arrays' lengths do not fit together.</exception>
    public static (long[] Labels, float[] Locations) MatchBeforeLog(ReadOnlySpan<float> boxes, ReadOnlySpan<long> labels, CornerPriors priors,
        double iouThreshold = 0.5, double centerVariance = 0.1)
    {
        ArgumentNullException.ThrowIfNull(priors);
        if (boxes.Length % 4 != 0 || boxes.Length / 4 != labels.Length)
            throw new ArgumentException($"{boxes.Length} box values and {labels.Length} labels: give 4 corners per box and one label per box.", nameof(boxes));
        int g = labels.Length, p = priors.Count;
        var assigned = new long[p];
        var locations = new float[p * 4];
        if (g == 0)
        {
            for (int i = 0; i < p; i++) locations[i * 4 + 2] = locations[i * 4 + 3] = 1; // log 1 = 0, as zero targets
            return (assigned, locations);
        }

        // Per prior: the box it overlaps most (the first on ties, as a max over dimension 0 gives); per box: its best prior.
        var bestTarget = new int[p];
        var bestTargetIou = new float[p];
        var bestPrior = new int[g];
        var bestPriorIou = new float[g];
        bestPriorIou.AsSpan().Fill(float.NegativeInfinity);
        for (int i = 0; i < p; i++)
        {
            float best = float.NegativeInfinity;
            for (int j = 0; j < g; j++)
            {
                float iou = Iou(boxes.Slice(j * 4, 4), priors.Corners.AsSpan(i * 4, 4));
                if (iou > best) { best = iou; bestTarget[i] = j; }
                if (iou > bestPriorIou[j]) { bestPriorIou[j] = iou; bestPrior[j] = i; }
            }
            bestTargetIou[i] = best;
        }
        // Every box claims its best prior (later boxes win ties, as the released loop does), with an IoU above any threshold.
        for (int j = 0; j < g; j++)
        {
            bestTarget[bestPrior[j]] = j;
            bestTargetIou[bestPrior[j]] = 2f;
        }
        float threshold = (float)iouThreshold, cv = (float)centerVariance;
        var c = priors.CentreSize;
        for (int i = 0; i < p; i++)
        {
            int j = bestTarget[i];
            assigned[i] = bestTargetIou[i] < threshold ? 0 : labels[j] + 1;
            var box = boxes.Slice(j * 4, 4);
            // corners → centre-size, then ((c − pc) / ps / v_c, s / ps), each in float32 as the tensor code
            float cx = (box[0] + box[2]) / 2, cy = (box[1] + box[3]) / 2, w = box[2] - box[0], h = box[3] - box[1];
            locations[i * 4] = (cx - c[i * 4]) / c[i * 4 + 2] / cv;
            locations[i * 4 + 1] = (cy - c[i * 4 + 1]) / c[i * 4 + 3] / cv;
            locations[i * 4 + 2] = w / c[i * 4 + 2];
            locations[i * 4 + 3] = h / c[i * 4 + 3];
        }
        return (assigned, locations);
    }

    /// <summary>
    /// Replaces the size ratios <see cref="MatchBeforeLog"/> left in the last two values of every group of 4 in
    /// <paramref name="locations"/> by log(ratio) / <paramref name="sizeVariance"/>: libtorch's log (one call), the
    /// division in float32. Runs libtorch on the calling thread.
    /// </summary>
    public static void FinishLocations(float[] locations, double sizeVariance)
    {
        ArgumentNullException.ThrowIfNull(locations);
        if (locations.Length % 4 != 0) throw new ArgumentException($"Expected groups of 4 regression values, got {locations.Length} values.", nameof(locations));
        int n = locations.Length / 4;
        if (n == 0) return;
        var ratios = new float[2 * n];
        for (int i = 0; i < n; i++) (ratios[2 * i], ratios[2 * i + 1]) = (locations[4 * i + 2], locations[4 * i + 3]);
        float[] logs;
        using (var t = tensor(ratios)) logs = t.log_().data<float>().ToArray();
        float sv = (float)sizeVariance;
        for (int i = 0; i < n; i++) (locations[4 * i + 2], locations[4 * i + 3]) = (logs[2 * i] / sv, logs[2 * i + 1] / sv);
    }

    /// <summary>IoU of two boxes in corners, continuous, float32: overlap / (area₁ + area₂ − overlap).</summary>
    public static float Iou(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        float w = MathF.Max(MathF.Min(a[2], b[2]) - MathF.Max(a[0], b[0]), 0f);
        float h = MathF.Max(MathF.Min(a[3], b[3]) - MathF.Max(a[1], b[1]), 0f);
        float overlap = w * h;
        float areaA = (a[2] - a[0]) * (a[3] - a[1]), areaB = (b[2] - b[0]) * (b[3] - b[1]);
        return overlap / (areaA + areaB - overlap);
    }

    /// <summary>IoU of every box in <paramref name="a"/> [A, 4] with every box in <paramref name="b"/> [B, 4] (corners, continuous): [A, B].</summary>
    public static Tensor Iou(Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        float[] x = ToArray<float>(a, ScalarType.Float32), y = ToArray<float>(b, ScalarType.Float32);
        int na = x.Length / 4, nb = y.Length / 4;
        var result = new float[na * nb];
        for (int i = 0; i < na; i++)
            for (int j = 0; j < nb; j++)
                result[i * nb + j] = Iou(x.AsSpan(i * 4, 4), y.AsSpan(j * 4, 4));
        return tensor(result, [na, nb]);
    }

    private static T[] ToArray<T>(Tensor t, ScalarType type) where T : unmanaged
    {
        if (t.numel() == 0) return []; // TorchSharp's accessor cannot copy out an empty tensor
        using var scope = NewDisposeScope();
        return t.detach().to(type, CPU).contiguous().data<T>().ToArray();
    }
}

/// <summary>A detector's priors for <see cref="PriorMatcher"/>: centre-size (as <see cref="PriorBoxes"/> makes them) and corners, both as flat float32 arrays.</summary>
public sealed class CornerPriors
{
    private CornerPriors(float[] centreSize)
    {
        CentreSize = centreSize;
        Corners = new float[centreSize.Length];
        for (int i = 0; i < centreSize.Length; i += 4)
        {
            // (c − s / 2, c + s / 2) in float32, as BoxCoder.ToCorners
            Corners[i] = centreSize[i] - centreSize[i + 2] / 2;
            Corners[i + 1] = centreSize[i + 1] - centreSize[i + 3] / 2;
            Corners[i + 2] = centreSize[i] + centreSize[i + 2] / 2;
            Corners[i + 3] = centreSize[i + 1] + centreSize[i + 3] / 2;
        }
    }

    /// <summary>The priors of a [P, 4] centre-size tensor.</summary>
    /// <exception cref="ArgumentException">Not [P, 4].</exception>
    public static CornerPriors From(Tensor priors)
    {
        ArgumentNullException.ThrowIfNull(priors);
        if (priors.Dimensions != 2 || priors.shape[1] != 4)
            throw new ArgumentException($"Priors must be [P, 4] in centre-size form, got shape [{string.Join(", ", priors.shape)}].", nameof(priors));
        using var scope = NewDisposeScope();
        return new CornerPriors(priors.detach().to(ScalarType.Float32, CPU).contiguous().data<float>().ToArray());
    }

    /// <summary>Number of priors.</summary>
    public int Count => CentreSize.Length / 4;

    /// <summary>P × (cx, cy, w, h).</summary>
    public float[] CentreSize { get; }

    /// <summary>P × (x1, y1, x2, y2).</summary>
    public float[] Corners { get; }
}
