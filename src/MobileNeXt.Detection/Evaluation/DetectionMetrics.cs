namespace MobileNeXt.Detection.Evaluation;

/// <summary>An annotated object: image index, class, corners in pixels, and whether VOC marks it difficult (or COCO crowd).</summary>
public sealed record GroundTruthBox(int Image, int Label, float X1, float Y1, float X2, float Y2, bool Difficult = false);

/// <summary>A detection: image index, class, corners in pixels and score.</summary>
public sealed record DetectedBox(int Image, int Label, float X1, float Y1, float X2, float Y2, float Score);

/// <summary>How a precision/recall curve becomes one number.</summary>
public enum ApMethod
{
    /// <summary>VOC2007's 11-point interpolation: mean over recall 0, 0.1, …, 1 of the best precision at that recall or more.</summary>
    Voc07ElevenPoint,

    /// <summary>VOC2010+: the area under the precision envelope (precision made non-increasing), at every recall step.</summary>
    AllPoint,
}

/// <summary>Per-class average precision and their mean.</summary>
/// <param name="PerClass">AP of each class that has at least one non-difficult ground truth (NaN for the others).</param>
/// <param name="Mean">Mean over the classes with ground truth.</param>
public sealed record ApResult(IReadOnlyList<double> PerClass, double Mean);

/// <summary>COCO-style results: mAP over IoU 0.50:0.05:0.95, and at 0.50 and 0.75.</summary>
public sealed record CocoResult(double MeanAp, double Ap50, double Ap75, IReadOnlyList<double> PerClass);

/// <summary>
/// Detection metrics, hand-written (no .NET library computes them). The matching rules are the reference tools':
/// <list type="bullet">
/// <item>VOC (the devkit's <c>VOCevaldet</c>, ChainerCV's <c>eval_detection_voc</c> that the SSD code evaluates with):
/// detections of a class in descending score; each takes the ground truth of its image it overlaps most; at IoU ≥
/// the threshold it is a true positive if that box is not difficult and not yet taken, ignored if it is difficult, a
/// false positive otherwise. Boxes are integer pixel boxes: a box spans x2 − x1 + 1 pixels.</item>
/// <item>COCO (pycocotools <c>COCOeval</c>, area "all", 100 detections per image): each detection takes the
/// best-overlapping ground truth not yet matched, non-crowd first; matching a crowd box ignores the detection;
/// precision is made non-increasing and read at 101 recall points; continuous coordinates; the overlap with a crowd
/// box is the intersection over the detection's area.</item>
/// </list>
/// </summary>
public static class DetectionMetrics
{
    /// <summary>VOC average precision of every class in 0..<paramref name="classes"/>−1 at IoU <paramref name="iouThreshold"/>.</summary>
    public static ApResult Voc(IEnumerable<DetectedBox> detections, IEnumerable<GroundTruthBox> truths, int classes,
        ApMethod method = ApMethod.Voc07ElevenPoint, double iouThreshold = 0.5)
    {
        var dets = detections.ToLookup(d => d.Label);
        var gts = truths.ToLookup(g => g.Label);
        var ap = new double[classes];
        for (int c = 0; c < classes; c++)
        {
            var (precision, recall, positives) = VocCurve(dets[c], gts[c], iouThreshold);
            ap[c] = positives == 0 ? double.NaN : method == ApMethod.Voc07ElevenPoint ? ElevenPoint(precision, recall) : AllPoint(precision, recall);
        }
        return new ApResult(ap, MeanOfDefined(ap));
    }

    /// <summary>COCO mAP@[.5:.95], AP50 and AP75 over classes 0..<paramref name="classes"/>−1.</summary>
    public static CocoResult Coco(IEnumerable<DetectedBox> detections, IEnumerable<GroundTruthBox> truths, int classes)
    {
        var thresholds = Enumerable.Range(0, 10).Select(i => 0.5 + 0.05 * i).ToArray();
        // At most 100 detections per image (all classes together), the highest scores.
        var kept = detections.GroupBy(d => d.Image).SelectMany(g => g.OrderByDescending(d => d.Score).Take(100)).ToLookup(d => d.Label);
        var gts = truths.ToLookup(g => g.Label);
        var perClass = new double[classes];
        double ap50 = 0, ap75 = 0;
        int counted = 0;
        for (int c = 0; c < classes; c++)
        {
            if (!gts[c].Any(g => !g.Difficult)) { perClass[c] = double.NaN; continue; }
            var byThreshold = thresholds.Select(t => CocoAp(kept[c], gts[c], t)).ToArray();
            perClass[c] = byThreshold.Average();
            ap50 += byThreshold[0];
            ap75 += byThreshold[5];
            counted++;
        }
        return counted == 0 ? new CocoResult(double.NaN, double.NaN, double.NaN, perClass)
            : new CocoResult(MeanOfDefined(perClass), ap50 / counted, ap75 / counted, perClass);
    }

    /// <summary>Intersection over union of two corner boxes; <paramref name="pixelInclusive"/> counts x2 − x1 + 1 pixels (VOC).</summary>
    public static double Iou(float ax1, float ay1, float ax2, float ay2, float bx1, float by1, float bx2, float by2, bool pixelInclusive)
    {
        double one = pixelInclusive ? 1 : 0;
        double iw = Math.Min(ax2, bx2) - Math.Max(ax1, bx1) + one, ih = Math.Min(ay2, by2) - Math.Max(ay1, by1) + one;
        if (iw <= 0 || ih <= 0) return 0;
        double inter = iw * ih;
        double a = (ax2 - ax1 + one) * (ay2 - ay1 + one), b = (bx2 - bx1 + one) * (by2 - by1 + one);
        return inter / (a + b - inter);
    }

    private static (double[] Precision, double[] Recall, int Positives) VocCurve(IEnumerable<DetectedBox> detections, IEnumerable<GroundTruthBox> truths, double threshold)
    {
        var byImage = truths.GroupBy(g => g.Image).ToDictionary(g => g.Key, g => g.ToArray());
        int positives = byImage.Values.Sum(a => a.Count(g => !g.Difficult));
        var taken = byImage.ToDictionary(kv => kv.Key, kv => new bool[kv.Value.Length]);
        var tp = new List<double>();
        var fp = new List<double>();
        // A stable sort: equal scores keep their input order, as numpy's argsort(kind='mergesort')-free code does in practice.
        foreach (var d in detections.OrderByDescending(d => d.Score))
        {
            if (!byImage.TryGetValue(d.Image, out var boxes)) { tp.Add(0); fp.Add(1); continue; }
            int best = -1;
            double bestIou = double.NegativeInfinity;
            for (int j = 0; j < boxes.Length; j++)
            {
                double iou = Iou(d.X1, d.Y1, d.X2, d.Y2, boxes[j].X1, boxes[j].Y1, boxes[j].X2, boxes[j].Y2, pixelInclusive: true);
                if (iou > bestIou) { bestIou = iou; best = j; }
            }
            if (bestIou >= threshold)
            {
                if (boxes[best].Difficult) continue; // neither right nor wrong
                if (!taken[d.Image][best]) { taken[d.Image][best] = true; tp.Add(1); fp.Add(0); }
                else { tp.Add(0); fp.Add(1); }
            }
            else { tp.Add(0); fp.Add(1); }
        }
        var precision = new double[tp.Count];
        var recall = new double[tp.Count];
        double ctp = 0, cfp = 0;
        for (int i = 0; i < tp.Count; i++)
        {
            ctp += tp[i];
            cfp += fp[i];
            precision[i] = ctp / (ctp + cfp);
            recall[i] = positives == 0 ? 0 : ctp / positives;
        }
        return (precision, recall, positives);
    }

    private static double ElevenPoint(double[] precision, double[] recall)
    {
        double sum = 0;
        for (int k = 0; k <= 10; k++)
        {
            double t = k / 10.0, best = 0;
            for (int i = 0; i < recall.Length; i++)
                if (recall[i] >= t - 1e-12) best = Math.Max(best, precision[i]);
            sum += best;
        }
        return sum / 11;
    }

    private static double AllPoint(double[] precision, double[] recall)
    {
        // Sentinels (0, 0) and (1, 0), the envelope from the right, then the area at every change of recall.
        var mrec = new double[recall.Length + 2];
        var mpre = new double[recall.Length + 2];
        mrec[^1] = 1;
        Array.Copy(recall, 0, mrec, 1, recall.Length);
        Array.Copy(precision, 0, mpre, 1, precision.Length);
        for (int i = mpre.Length - 2; i >= 0; i--) mpre[i] = Math.Max(mpre[i], mpre[i + 1]);
        double ap = 0;
        for (int i = 1; i < mrec.Length; i++)
            if (mrec[i] != mrec[i - 1]) ap += (mrec[i] - mrec[i - 1]) * mpre[i];
        return ap;
    }

    private static double CocoAp(IEnumerable<DetectedBox> detections, IEnumerable<GroundTruthBox> truths, double threshold)
    {
        var byImage = truths.GroupBy(g => g.Image).ToDictionary(g => g.Key, g => g.OrderBy(b => b.Difficult).ToArray()); // non-crowd first
        int positives = byImage.Values.Sum(a => a.Count(g => !g.Difficult));
        var matched = byImage.ToDictionary(kv => kv.Key, kv => new bool[kv.Value.Length]);
        var flags = new List<int>(); // 1 TP, 0 FP (ignored detections are dropped)
        foreach (var d in detections.OrderByDescending(d => d.Score))
        {
            if (!byImage.TryGetValue(d.Image, out var boxes)) { flags.Add(0); continue; }
            int m = -1;
            double best = Math.Min(threshold, 1 - 1e-10);
            for (int j = 0; j < boxes.Length; j++)
            {
                if (matched[d.Image][j] && !boxes[j].Difficult) continue; // a crowd box may match many
                if (m > -1 && !boxes[m].Difficult && boxes[j].Difficult) break; // a real match beats any crowd box
                var g = boxes[j];
                double iou = g.Difficult ? CrowdOverlap(d, g) : Iou(d.X1, d.Y1, d.X2, d.Y2, g.X1, g.Y1, g.X2, g.Y2, pixelInclusive: false);
                if (iou < best) continue;
                best = iou;
                m = j;
            }
            if (m == -1) { flags.Add(0); continue; }
            if (boxes[m].Difficult) continue;
            matched[d.Image][m] = true;
            flags.Add(1);
        }
        if (positives == 0) return double.NaN;
        var precision = new double[flags.Count];
        var recall = new double[flags.Count];
        double tp = 0;
        for (int i = 0; i < flags.Count; i++)
        {
            tp += flags[i];
            precision[i] = tp / (i + 1);
            recall[i] = tp / positives;
        }
        for (int i = precision.Length - 2; i >= 0; i--) precision[i] = Math.Max(precision[i], precision[i + 1]);
        double sum = 0;
        for (int k = 0; k <= 100; k++)
        {
            double r = k / 100.0;
            int i = Array.FindIndex(recall, x => x >= r - 1e-12);
            sum += i < 0 ? 0 : precision[i];
        }
        return sum / 101;
    }

    /// <summary>COCO's overlap with a crowd region: the intersection over the detection's own area.</summary>
    private static double CrowdOverlap(DetectedBox d, GroundTruthBox g)
    {
        double iw = Math.Min(d.X2, g.X2) - Math.Max(d.X1, g.X1), ih = Math.Min(d.Y2, g.Y2) - Math.Max(d.Y1, g.Y1);
        double area = (double)(d.X2 - d.X1) * (d.Y2 - d.Y1);
        return iw <= 0 || ih <= 0 || area <= 0 ? 0 : iw * ih / area;
    }

    private static double MeanOfDefined(double[] values)
    {
        var defined = values.Where(v => !double.IsNaN(v)).ToArray();
        return defined.Length == 0 ? double.NaN : defined.Average();
    }
}
