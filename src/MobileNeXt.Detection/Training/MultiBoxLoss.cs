using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Detection.Training;

/// <summary>
/// SSD's multibox loss (Liu et al. 2016, Eq. 1 and Sec. 2.2 "Hard negative mining"; the released code's
/// <c>MultiBoxLoss</c>): cross-entropy over the positives and the hardest negatives — per image, the background
/// priors with the highest background loss, 3 per positive — plus Smooth-L1 (β = 1) on the positives' box
/// regressions, each summed and divided by the number of positives in the batch.
/// </summary>
public static class MultiBoxLoss
{
    /// <summary>The two terms for a batch.</summary>
    /// <param name="scores">[N, P, C] class logits (class 0 = background).</param>
    /// <param name="locations">[N, P, 4] predicted regressions.</param>
    /// <param name="labels">[N, P] target classes from <see cref="Boxes.PriorMatcher"/> (int64, 0 = background).</param>
    /// <param name="targets">[N, P, 4] target regressions.</param>
    /// <param name="negativesPerPositive">Hard negatives kept per positive (3).</param>
    /// <returns>Smooth-L1 and classification loss, each divided by the number of positives (at least 1).</returns>
    public static (Tensor Regression, Tensor Classification) Compute(Tensor scores, Tensor locations, Tensor labels, Tensor targets, int negativesPerPositive = 3)
    {
        using var scope = NewDisposeScope();
        long classes = scores.shape[^1];
        Tensor mask;
        using (no_grad())
        {
            var background = -nn.functional.log_softmax(scores, -1)[TensorIndex.Ellipsis, 0]; // [N, P]
            mask = HardNegativeMask(background, labels, negativesPerPositive);
        }
        var positive = labels > 0;
        var classification = nn.functional.cross_entropy(scores[mask].view(-1, classes), labels[mask], reduction: nn.Reduction.Sum);
        var regression = nn.functional.smooth_l1_loss(locations[positive].view(-1, 4), targets[positive].view(-1, 4), reduction: nn.Reduction.Sum);
        var count = positive.sum().clamp_min(1).to(scores.dtype);
        return ((regression / count).MoveToOuterDisposeScope(), (classification / count).MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Positives, plus per image the <paramref name="ratio"/>·positives background priors of highest
    /// <paramref name="backgroundLoss"/> (the released <c>hard_negative_mining</c>: a rank by sorting twice).
    /// </summary>
    public static Tensor HardNegativeMask(Tensor backgroundLoss, Tensor labels, int ratio)
    {
        using var scope = NewDisposeScope();
        var positive = labels > 0;
        var negatives = positive.sum(1, keepdim: true) * ratio;
        var loss = backgroundLoss.masked_fill(positive, double.NegativeInfinity);
        var order = loss.argsort(1, descending: true);
        var rank = order.argsort(1);
        return (positive | (rank < negatives)).MoveToOuterDisposeScope();
    }
}
