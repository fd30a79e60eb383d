using MobileNeXt.Detection.Boxes;
using MobileNeXt.Detection.Training;
using static TorchSharp.torch;

namespace MobileNeXt.Detection.Tests.Training;

/// <summary>Prior matching, hard-negative mining and the multibox loss on cases worked out by hand.</summary>
public class MultiBoxLossTests
{
    [Fact]
    public void Should_match_priors_at_iou_half_and_give_every_box_its_best_prior()
    {
        // Priors (cx, cy, w, h): p0 = [0, .5]², p1 = [.5, 1]², p2 = [.4, .6]², p3 = [.8, 1] × [0, .2].
        using var priors = tensor(new float[] { .25f, .25f, .5f, .5f, .75f, .75f, .5f, .5f, .5f, .5f, .2f, .2f, .9f, .1f, .2f, .2f }, [4, 4]);
        // g0 = [0, 0, .5, .4] class 2: IoU with p0 = .2 / .25 = 0.8 → p0 positive, label 3.
        // g1 = [.45, .55]² class 0: IoU .0025/.2575 with p0 and p1, .01/.04 = .25 with p2 → below .5, but p2 is g1's
        // best prior, so p2 is a positive of g1 (label 1). p1 (best IoU .0097) and p3 (0) are background.
        using var boxes = tensor(new float[] { 0, 0, .5f, .4f, .45f, .45f, .55f, .55f }, [2, 4]);
        using var labels = tensor(new long[] { 2, 0 });
        var (assigned, locations) = PriorMatcher.Match(boxes, labels, priors);
        assigned.data<long>().ToArray().Should().Equal(3, 0, 1, 0);
        // p0's target: centre (.25, .2), size (.5, .4) against the prior (.25, .25, .5, .5):
        // (0, (.2 − .25)/.5/.1, log(1)/.2, log(.8)/.2) = (0, −1, 0, −1.115718).
        var t = locations[0].data<float>().ToArray();
        t[0].Should().BeApproximately(0, 1e-6f);
        t[1].Should().BeApproximately(-1, 1e-5f);
        t[2].Should().BeApproximately(0, 1e-6f);
        t[3].Should().BeApproximately((float)(Math.Log(0.8) / 0.2), 1e-5f);
    }

    [Fact]
    public void Should_keep_the_positives_and_three_hardest_negatives_per_positive()
    {
        // One positive (index 1); negatives ranked by background loss: .9 (4), .7 (6), .5 (2) are kept.
        using var loss = tensor(new float[] { .1f, 9, .5f, .3f, .9f, .2f, .7f, .05f }, [1, 8]);
        using var labels = tensor(new long[] { 0, 1, 0, 0, 0, 0, 0, 0 }, [1, 8]);
        using var mask = MultiBoxLoss.HardNegativeMask(loss, labels, 3);
        mask.data<bool>().ToArray().Should().Equal(false, true, true, false, true, false, true, false);
    }

    [Fact]
    public void Should_sum_cross_entropy_and_smooth_l1_and_divide_by_the_positives()
    {
        // Prior 0: positive of class 1, logits (0, 0) → CE ln 2; prior 1: the only negative (3 allowed), logits (0, 0) → ln 2.
        // Classification = 2 ln 2 / 1. Regression of prior 0: prediction (.5, 0, 2, 0) vs target 0:
        // Smooth-L1 = .5·.5² + 0 + (2 − .5) + 0 = 1.625, / 1.
        using var scores = zeros(1, 2, 2);
        using var locations = tensor(new float[] { .5f, 0, 2, 0, 7, 7, 7, 7 }, [1, 2, 4]);
        using var labels = tensor(new long[] { 1, 0 }, [1, 2]);
        using var targets = zeros(1, 2, 4);
        var (regression, classification) = MultiBoxLoss.Compute(scores, locations, labels, targets);
        classification.item<float>().Should().BeApproximately((float)(2 * Math.Log(2)), 1e-6f);
        regression.item<float>().Should().BeApproximately(1.625f, 1e-6f, "a negative's regression (7s) does not count");
    }
}
