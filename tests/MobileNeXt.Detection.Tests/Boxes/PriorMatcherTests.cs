using MobileNeXt.Detection.Boxes;
using static TorchSharp.torch;

namespace MobileNeXt.Detection.Tests.Boxes;

/// <summary>SSD's prior matching on hand-computed cases, and bit for bit against the same rule written in libtorch tensor arithmetic.</summary>
public class PriorMatcherTests
{
    // centre-size priors: P0 = corners [0, 0, .5, .5], P1 = [.5, .5, 1, 1], P2 = [.4, .4, .6, .6]
    private static Tensor ThreePriors() => tensor(new[] { 0.25f, 0.25f, 0.5f, 0.5f, 0.75f, 0.75f, 0.5f, 0.5f, 0.5f, 0.5f, 0.2f, 0.2f }).view(3, 4);

    [Fact]
    public void Should_match_by_iou_and_let_every_box_claim_its_best_prior()
    {
        // A = [0, 0, .5, .5] (class 3): IoU 1 with P0, .01 / .28 with P2, 0 with P1.
        // B = [.45, .45, .65, .65] (class 1): IoU .0225 / .0575 = .391 with P2, .0025 / .2875 with P0, .0225 / .2675 with P1.
        using var priors = ThreePriors();
        using var boxes = tensor(new[] { 0f, 0f, 0.5f, 0.5f, 0.45f, 0.45f, 0.65f, 0.65f }).view(2, 4);
        using var labels = tensor(new long[] { 3, 1 });
        var (assigned, locations) = PriorMatcher.Match(boxes, labels, priors, 0.5, 0.1, 0.2);
        using (assigned)
        using (locations)
        {
            // P0 → A (IoU 1 ≥ .5): class 4; P1's best is B at .084 < .5: background; P2's best is B at .391 < .5, but
            // P2 is B's best prior, so B claims it: class 2.
            assigned.data<long>().ToArray().Should().Equal(4, 0, 2);
            var l = locations.data<float>().ToArray();
            l[..4].Should().Equal([0f, 0f, 0f, 0f], "A is P0 exactly");
            // B against P2: ((.55 − .5) / .2 / .1, same, log(.2 / .2) / .2, same) = (2.5, 2.5, 0, 0)
            l[8..].Should().Equal([2.5f, 2.5f, 0f, 0f], (a, e) => Math.Abs(a - e) < 1e-5f);
        }
        using var ious = PriorMatcher.Iou(boxes, BoxCoder.ToCorners(priors));
        ious.data<float>().ToArray().Should().Equal([1f, 0f, 0.01f / 0.28f, 0.0025f / 0.2875f, 0.0225f / 0.2675f, 0.0225f / 0.0575f], (a, e) => Math.Abs(a - e) < 1e-6f);
    }

    [Fact]
    public void Should_give_a_shared_best_prior_to_the_later_box_and_background_without_boxes()
    {
        using var priors = ThreePriors();
        using var boxes = tensor(new[] { 0f, 0f, 0.5f, 0.5f, 0f, 0f, 0.5f, 0.5f }).view(2, 4);
        using var labels = tensor(new long[] { 7, 2 });
        var (assigned, locations) = PriorMatcher.Match(boxes, labels, priors);
        assigned.data<long>().ToArray().Should().Equal([3, 0, 0], "the released loop assigns box by box, so the later one keeps P0");
        assigned.Dispose();
        locations.Dispose();

        using var none = zeros(0, 4);
        using var noLabels = zeros(0, dtype: ScalarType.Int64);
        var (empty, emptyLocations) = PriorMatcher.Match(none, noLabels, priors);
        empty.data<long>().ToArray().Should().Equal(0, 0, 0);
        emptyLocations.data<float>().ToArray().Should().Equal(new float[12], "no box: zero regressions (the size ratios of 1 give log 0)");
        empty.Dispose();
        emptyLocations.Dispose();
    }

    [Fact]
    public void Should_count_an_iou_equal_to_the_threshold_as_positive()
    {
        // prior [0, 0, .5, .5] and box [0, 0, .5, .25]: IoU = .125 / .25 = 0.5 exactly in float32; SSD's rule is IoU ≥ threshold
        using var priors = tensor(new[] { 0.25f, 0.25f, 0.5f, 0.5f, 0.75f, 0.75f, 0.5f, 0.5f }).view(2, 4);
        using var boxes = tensor(new[] { 0f, 0f, 0.5f, 0.25f, 0.5f, 0.5f, 1f, 1f }).view(2, 4);
        using var labels = tensor(new long[] { 0, 5 });
        using var ious = PriorMatcher.Iou(boxes, BoxCoder.ToCorners(priors));
        ious[0, 0].item<float>().Should().Be(0.5f);
        var (assigned, locations) = PriorMatcher.Match(boxes, labels, priors, 0.5);
        assigned.data<long>().ToArray().Should().Equal(1, 6);
        var (below, belowLocations) = PriorMatcher.Match(boxes[..1], labels[..1], priors[1..], 0.5);
        below.data<long>().ToArray().Should().Equal([1], "a box's best prior is positive at any IoU, even 0");
        foreach (var t in new[] { assigned, locations, below, belowLocations }) t.Dispose();
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.35)]
    public void Should_agree_with_the_rule_in_libtorch_tensor_arithmetic_on_the_160_px_priors(double threshold)
    {
        var options = SsdLiteOptions.ForImageSize(160, numClasses: 11);
        using var priors = PriorBoxes.Create(options);
        var random = new Random(4);
        for (int trial = 0; trial < 5; trial++)
        {
            int g = random.Next(1, 6);
            var corners = new float[g * 4];
            for (int j = 0; j < g; j++)
            {
                float w = 0.1f + 0.5f * random.NextSingle(), h = 0.1f + 0.5f * random.NextSingle();
                float x = (1 - w) * random.NextSingle(), y = (1 - h) * random.NextSingle();
                (corners[j * 4], corners[j * 4 + 1], corners[j * 4 + 2], corners[j * 4 + 3]) = (x, y, x + w, y + h);
            }
            using var scope = NewDisposeScope();
            var boxes = tensor(corners, [g, 4]);
            var labels = tensor(Enumerable.Range(0, g).Select(_ => (long)random.Next(10)).ToArray(), [g]);
            var (assigned, locations) = PriorMatcher.Match(boxes, labels, priors, threshold, options.CenterVariance, options.SizeVariance);

            // the released assign_priors in tensor ops: IoU [G, P], per-prior max, per-box argmax, claims, threshold, encode
            var p = BoxCoder.ToCorners(priors).unsqueeze(0);
            var b = boxes.unsqueeze(1);
            var wh = (minimum(b[TensorIndex.Ellipsis, 2..], p[TensorIndex.Ellipsis, 2..]) - maximum(b[TensorIndex.Ellipsis, ..2], p[TensorIndex.Ellipsis, ..2])).clamp_min(0);
            var inter = wh[TensorIndex.Ellipsis, 0] * wh[TensorIndex.Ellipsis, 1];
            var areaB = (boxes[.., 2] - boxes[.., 0]) * (boxes[.., 3] - boxes[.., 1]);
            var pc = p[0];
            var areaP = (pc[.., 2] - pc[.., 0]) * (pc[.., 3] - pc[.., 1]);
            var ious = inter / (areaB.unsqueeze(1) + areaP.unsqueeze(0) - inter);
            var (bestIou, bestBox) = ious.max(0);
            var bestPrior = ious.argmax(1);
            for (long j = 0; j < g; j++)
            {
                long prior = bestPrior[j].item<long>();
                bestBox[prior] = j;
                bestIou[prior] = 2.0f;
            }
            var expected = where(bestIou < threshold, zeros(bestIou.shape[0], dtype: ScalarType.Int64), labels.index_select(0, bestBox) + 1);
            var expectedLocations = BoxCoder.Encode(BoxCoder.ToCentreSize(boxes.index_select(0, bestBox)), priors, options.CenterVariance, options.SizeVariance);

            assigned.data<long>().ToArray().Should().Equal(expected.data<long>().ToArray(), $"trial {trial}: the same class for every prior");
            assigned.gt(0).sum().item<long>().Should().BeGreaterThanOrEqualTo(g, "every box has at least its best prior");
            var positive = assigned.gt(0).unsqueeze(1).expand(-1, 4);
            locations.masked_select(positive).data<float>().ToArray().Should().Equal(expectedLocations.masked_select(positive).data<float>().ToArray(), $"trial {trial}: bit-identical regressions");
            assigned.Dispose();
            locations.Dispose();
        }
    }
}
