using MobileNeXt.Detection.Evaluation;

namespace MobileNeXt.Detection.Tests.Evaluation;

/// <summary>VOC and COCO average precision on cases worked out by hand (the arithmetic is in each test's comments).</summary>
public class DetectionMetricsTests
{
    private static GroundTruthBox Gt(int image, float x1, float y1, float x2, float y2, bool difficult = false, int label = 0) => new(image, label, x1, y1, x2, y2, difficult);

    private static DetectedBox Det(int image, float x1, float y1, float x2, float y2, float score, int label = 0) => new(image, label, x1, y1, x2, y2, score);

    // Two images, one object each; detections TP (0.9), FP (0.8), TP (0.7):
    // precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1.
    private static readonly GroundTruthBox[] TwoObjects = [Gt(0, 0, 0, 9, 9), Gt(1, 0, 0, 9, 9)];
    private static readonly DetectedBox[] TpFpTp = [Det(0, 0, 0, 9, 9, 0.9f), Det(0, 50, 50, 59, 59, 0.8f), Det(1, 0, 0, 9, 9, 0.7f)];

    [Fact]
    public void Should_give_the_eleven_point_ap_of_voc2007()
    {
        // Recall 0…0.5 (6 points): best precision at that recall or more = 1; recall 0.6…1 (5 points): 2/3.
        // AP = (6·1 + 5·2/3) / 11 = 0.848485.
        var result = DetectionMetrics.Voc(TpFpTp, TwoObjects, classes: 1, ApMethod.Voc07ElevenPoint);
        result.PerClass[0].Should().BeApproximately((6 + 5 * 2.0 / 3) / 11, 1e-12);
    }

    [Fact]
    public void Should_give_the_area_under_the_precision_envelope_for_voc2010()
    {
        // Envelope: 1 up to recall 1/2, then 2/3 up to recall 1. AP = 0.5·1 + 0.5·2/3 = 5/6.
        var result = DetectionMetrics.Voc(TpFpTp, TwoObjects, classes: 1, ApMethod.AllPoint);
        result.PerClass[0].Should().BeApproximately(5.0 / 6, 1e-12);
    }

    [Fact]
    public void Should_count_a_second_hit_on_one_object_as_false_and_ignore_difficult_objects()
    {
        // One normal object and one difficult one. Detections: the difficult one (0.95, ignored), the object (0.9, TP),
        // the object again (0.8, FP: taken). One positive; precision 1, 1/2 at recall 1, 1 → AP 1. Were the difficult
        // hit a false positive, precision would start at 0 and AP would be 1/2; were the difficult object a positive,
        // recall would stop at 1/2 and AP would be at most 1/2. The duplicate's FP shows in the 11-point precision list
        // only after recall 1, so AP stays 1.
        GroundTruthBox[] truths = [Gt(0, 0, 0, 9, 9), Gt(0, 20, 20, 29, 29, difficult: true)];
        DetectedBox[] dets = [Det(0, 20, 20, 29, 29, 0.95f), Det(0, 0, 0, 9, 9, 0.9f), Det(0, 0, 0, 9, 9, 0.8f)];
        DetectionMetrics.Voc(dets, truths, 1, ApMethod.AllPoint).PerClass[0].Should().Be(1.0);
        DetectionMetrics.Voc(dets, truths, 1, ApMethod.Voc07ElevenPoint).PerClass[0].Should().BeApproximately(1.0, 1e-12);
        // A false positive on nothing ranked first: precision 0, then 1/2 at recall 1 → AP 1/2.
        DetectedBox[] duplicateFirst = [Det(0, 0, 0, 9, 9, 0.9f), Det(0, 0, 0, 9, 9, 0.8f), Det(0, 50, 50, 59, 59, 0.95f)];
        DetectionMetrics.Voc(duplicateFirst, truths, 1, ApMethod.AllPoint).PerClass[0].Should().BeApproximately(0.5, 1e-12);
    }

    [Fact]
    public void Should_measure_voc_boxes_in_whole_pixels()
    {
        // Ground truth x 0..9, y 0..9 is 10×10 pixels; the detection 0..9 × 0..4 is 10×5: IoU 50/100 = 0.5, a hit at 0.5.
        // In continuous coordinates it would be 36/81 = 0.44, a miss.
        DetectionMetrics.Voc([Det(0, 0, 0, 9, 4, 0.9f)], [Gt(0, 0, 0, 9, 9)], 1).PerClass[0].Should().BeApproximately(1.0, 1e-12);
        DetectionMetrics.Iou(0, 0, 9, 4, 0, 0, 9, 9, pixelInclusive: true).Should().Be(0.5);
        DetectionMetrics.Iou(0, 0, 9, 4, 0, 0, 9, 9, pixelInclusive: false).Should().BeApproximately(36.0 / 81, 1e-12);
    }

    [Fact]
    public void Should_average_only_classes_that_have_objects()
    {
        // Class 0: AP 5/6 (above, all-point); class 1: no objects (NaN, left out); class 2: one object, missed → 0.
        var truths = TwoObjects.Append(Gt(0, 0, 0, 9, 9, label: 2));
        var result = DetectionMetrics.Voc(TpFpTp, truths, classes: 3, ApMethod.AllPoint);
        result.PerClass[1].Should().Be(double.NaN);
        result.PerClass[2].Should().Be(0);
        result.Mean.Should().BeApproximately((5.0 / 6 + 0) / 2, 1e-12);
    }

    [Fact]
    public void Should_average_coco_ap_over_ten_iou_thresholds()
    {
        // One object 10×10 (continuous), one detection 10×7.8 inside it: IoU 0.78. It is a hit (AP 1) at the
        // thresholds 0.50…0.75 (6 of 10) and a miss (AP 0) at 0.80…0.95: mAP 0.6, AP50 1, AP75 1.
        var result = DetectionMetrics.Coco([Det(0, 0, 0, 10, 7.8f, 0.9f)], [Gt(0, 0, 0, 10, 10)], classes: 1);
        result.MeanAp.Should().BeApproximately(0.6, 1e-12);
        result.Ap50.Should().Be(1);
        result.Ap75.Should().Be(1);
    }

    [Fact]
    public void Should_read_coco_precision_at_101_recall_points()
    {
        // The TP, FP, TP case in continuous coordinates (all IoUs 1 or 0): envelope 1 for recall ≤ 0.5 (51 points:
        // 0.00…0.50), 2/3 for 0.51…1.00 (50 points): AP = (51 + 50·2/3) / 101 at every threshold.
        var result = DetectionMetrics.Coco(TpFpTp, TwoObjects, classes: 1);
        result.MeanAp.Should().BeApproximately((51 + 50 * 2.0 / 3) / 101, 1e-12);
    }

    [Fact]
    public void Should_ignore_coco_detections_inside_a_crowd_region()
    {
        // A crowd region (0..100²) and an object. The highest-scoring detection lies inside the crowd region (overlap
        // = its own area / its area = 1): ignored, so the object's hit gives precision 1 at recall 1 → AP 1. Counted as
        // a false positive it would give precision 1/2 at recall 1 → AP 0.5.
        GroundTruthBox[] truths = [Gt(0, 0, 0, 100, 100, difficult: true), Gt(0, 200, 200, 210, 210)];
        DetectedBox[] dets = [Det(0, 10, 10, 20, 20, 0.95f), Det(0, 200, 200, 210, 210, 0.9f)];
        DetectionMetrics.Coco(dets, truths, 1).MeanAp.Should().BeApproximately(1.0, 1e-12);
    }
}
