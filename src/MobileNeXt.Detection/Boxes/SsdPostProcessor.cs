using static TorchSharp.torch;

namespace MobileNeXt.Detection.Boxes;

/// <summary>
/// Turns SSD's raw outputs into detections, as the released post-processor does (ssd/modeling/box_head/box_head.py,
/// inference.py): softmax over the classes; decode the regressions against the priors and convert to corners; drop the
/// background class; keep scores above <see cref="PostProcessingOptions.ScoreThreshold"/>; scale to pixels; per-class
/// non-maximum suppression at <see cref="PostProcessingOptions.NmsThreshold"/>; the best
/// <see cref="PostProcessingOptions.MaxDetections"/>.
/// </summary>
/// <remarks>
/// The NMS is written here rather than taken from TorchSharp's TorchVision package (<c>torchvision.ops.nms</c>): that
/// package brings SkiaSharp 2.88 beside Core's 3.x and is kept out of the libraries (torchsharp-notes §0). It is
/// torchvision's greedy algorithm — candidates by descending score, a candidate dropped when its IoU with a kept box of
/// its class exceeds the threshold, IoU = overlap / (area₁ + area₂ − overlap) in float32 — applied per class directly,
/// where the released <c>batched_nms</c> shifts each class's boxes by <c>label · (max coordinate + 1)</c> and runs one
/// NMS; the two agree except for float32 rounding of the shifted coordinates. Because kept boxes come out best first,
/// the search stops after <see cref="PostProcessingOptions.MaxDetections"/> of them, which gives the same first boxes as
/// suppressing all and truncating.
/// </remarks>
public sealed class SsdPostProcessor
{
    private readonly SsdLiteOptions detector;
    private readonly PostProcessingOptions options;

    /// <summary>A post-processor for a detector built with <paramref name="detector"/> (classes, size, variances).</summary>
    public SsdPostProcessor(SsdLiteOptions detector, PostProcessingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(detector);
        detector.Validate();
        options ??= new PostProcessingOptions();
        options.Validate();
        this.detector = detector;
        this.options = options;
    }

    /// <summary>
    /// Detections of each image from raw class logits [N, P, classes] and box regressions [N, P, 4] (from the detector
    /// or from its ONNX export) and the priors [P, 4] in centre-size form; best first.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<DetectedObject>> Process(Tensor logits, Tensor regressions, Tensor priors)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(regressions);
        ArgumentNullException.ThrowIfNull(priors);
        if (logits.Dimensions != 3 || logits.shape[2] != detector.NumClasses)
            throw new ArgumentException($"Expected class logits [N, priors, {detector.NumClasses}], got [{string.Join(", ", logits.shape)}].", nameof(logits));
        if (regressions.Dimensions != 3 || regressions.shape[2] != 4 || regressions.shape[0] != logits.shape[0] || regressions.shape[1] != logits.shape[1])
            throw new ArgumentException($"Expected box regressions [{logits.shape[0]}, {logits.shape[1]}, 4] to go with the logits, got [{string.Join(", ", regressions.shape)}].", nameof(regressions));
        if (priors.Dimensions != 2 || priors.shape[0] != logits.shape[1] || priors.shape[1] != 4)
            throw new ArgumentException($"Expected priors [{logits.shape[1]}, 4], one per output row, got [{string.Join(", ", priors.shape)}].", nameof(priors));

        using var scope = NewDisposeScope();
        var probabilities = logits.detach().to(ScalarType.Float32, CPU).softmax(2);
        var boxes = BoxCoder.ToCorners(BoxCoder.Decode(regressions.detach().to(ScalarType.Float32, CPU), priors.to(ScalarType.Float32, CPU),
            detector.CenterVariance, detector.SizeVariance)) * (float)detector.ImageSize;
        var results = new List<IReadOnlyList<DetectedObject>>();
        for (long b = 0; b < logits.shape[0]; b++)
            results.Add(Select(probabilities[b].contiguous().data<float>().ToArray(), boxes[b].contiguous().data<float>().ToArray()));
        return results;
    }

    /// <summary>Threshold, per-class NMS and top-k of one image: <paramref name="scores"/> [P · classes], <paramref name="boxes"/> [P · 4].</summary>
    private List<DetectedObject> Select(float[] scores, float[] boxes)
    {
        int classes = detector.NumClasses;
        float threshold = (float)options.ScoreThreshold; // PyTorch compares a float32 tensor with the threshold in float32
        var candidates = new List<(int Prior, int Label, float Score)>();
        for (int p = 0; p < scores.Length / classes; p++)
            for (int c = 1; c < classes; c++) // class 0 is the background
                if (scores[p * classes + c] > threshold) candidates.Add((p, c, scores[p * classes + c]));

        var kept = new List<DetectedObject>();
        var keptByClass = new List<int>[classes];
        foreach (var (prior, label, score) in candidates.OrderByDescending(c => c.Score)) // stable: ties keep prior-major order
        {
            var list = keptByClass[label] ??= [];
            if (list.Any(k => IoU(boxes, k, prior) > options.NmsThreshold)) continue;
            list.Add(prior);
            kept.Add(new DetectedObject(boxes[prior * 4], boxes[prior * 4 + 1], boxes[prior * 4 + 2], boxes[prior * 4 + 3], label, score));
            if (kept.Count == options.MaxDetections) break;
        }
        return kept;
    }

    private static float IoU(float[] boxes, int a, int b)
    {
        float ax1 = boxes[a * 4], ay1 = boxes[a * 4 + 1], ax2 = boxes[a * 4 + 2], ay2 = boxes[a * 4 + 3];
        float bx1 = boxes[b * 4], by1 = boxes[b * 4 + 1], bx2 = boxes[b * 4 + 2], by2 = boxes[b * 4 + 3];
        float w = Math.Max(0f, Math.Min(ax2, bx2) - Math.Max(ax1, bx1));
        float h = Math.Max(0f, Math.Min(ay2, by2) - Math.Max(ay1, by1));
        float overlap = w * h;
        return overlap / ((ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - overlap);
    }
}
