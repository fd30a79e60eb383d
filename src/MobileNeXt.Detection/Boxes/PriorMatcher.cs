using static TorchSharp.torch;

namespace MobileNeXt.Detection.Boxes;

/// <summary>
/// SSD's assignment of ground truth to priors (Liu et al. 2016, Sec. 2.2; the released code's <c>assign_priors</c>):
/// each prior takes the ground-truth box it overlaps most, and is a positive of that box's class when the IoU is at
/// least the threshold (0.5), background (label 0) otherwise; then every ground-truth box claims its best prior, even
/// below the threshold, so no object goes unmatched.
/// </summary>
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
    public static (Tensor Labels, Tensor Locations) Match(Tensor boxes, Tensor labels, Tensor priors, double iouThreshold = 0.5,
        double centerVariance = 0.1, double sizeVariance = 0.2)
    {
        using var scope = NewDisposeScope();
        long p = priors.shape[0];
        if (boxes.shape[0] == 0)
            return (zeros(p, dtype: ScalarType.Int64).MoveToOuterDisposeScope(), zeros(p, 4).MoveToOuterDisposeScope());
        var priorCorners = BoxCoder.ToCorners(priors);
        var ious = Iou(boxes, priorCorners); // [G, P]
        var (bestTargetIou, bestTarget) = ious.max(0);          // per prior: best box
        var bestPrior = ious.argmax(1);                          // per box: best prior
        // Every box claims its best prior (later boxes win ties, as the released loop does), with an IoU above any threshold.
        for (long j = 0; j < boxes.shape[0]; j++)
        {
            long prior = bestPrior[j].item<long>();
            bestTarget[prior] = j;
            bestTargetIou[prior] = 2.0f;
        }
        var assigned = labels.index_select(0, bestTarget) + 1;
        assigned = where(bestTargetIou < iouThreshold, zeros_like(assigned), assigned);
        var locations = BoxCoder.Encode(BoxCoder.ToCentreSize(boxes.index_select(0, bestTarget)), priors, centerVariance, sizeVariance);
        return (assigned.MoveToOuterDisposeScope(), locations.MoveToOuterDisposeScope());
    }

    /// <summary>IoU of every box in <paramref name="a"/> [A, 4] with every box in <paramref name="b"/> [B, 4] (corners, continuous): [A, B].</summary>
    public static Tensor Iou(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        var a3 = a.unsqueeze(1); // [A, 1, 4]
        var b3 = b.unsqueeze(0); // [1, B, 4]
        var topLeft = maximum(a3[TensorIndex.Ellipsis, ..2], b3[TensorIndex.Ellipsis, ..2]);
        var bottomRight = minimum(a3[TensorIndex.Ellipsis, 2..], b3[TensorIndex.Ellipsis, 2..]);
        var wh = (bottomRight - topLeft).clamp_min(0);
        var inter = wh[TensorIndex.Ellipsis, 0] * wh[TensorIndex.Ellipsis, 1];
        var areaA = (a[.., 2] - a[.., 0]) * (a[.., 3] - a[.., 1]);
        var areaB = (b[.., 2] - b[.., 0]) * (b[.., 3] - b[.., 1]);
        return (inter / (areaA.unsqueeze(1) + areaB.unsqueeze(0) - inter)).MoveToOuterDisposeScope();
    }
}
