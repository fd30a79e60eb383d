using MobileNeXt.Detection.Boxes;
using MobileNeXt.Detection.Data;
using MobileNeXt.Detection.Evaluation;
using static TorchSharp.torch;

namespace MobileNeXt.Detection.Training;

/// <summary>VOC07 11-point, VOC2010+ all-point and COCO-style results of a detector on a dataset.</summary>
public sealed record DetectionEvaluationResult(ApResult Voc07, ApResult VocAllPoint, CocoResult Coco, int Images);

/// <summary>Evaluates a detector: each image resized to the input (no augmentation), detected, boxes mapped back to the image's pixels.</summary>
public static class DetectionEvaluation
{
    /// <summary>Runs <paramref name="detector"/> (eval mode, post-processing with <paramref name="options"/>) over <paramref name="dataset"/>.</summary>
    public static DetectionEvaluationResult Evaluate(SsdLite detector, IDetectionDataset dataset, int batchSize = 16, PostProcessingOptions? options = null) =>
        Evaluate(images => detector.Detect(images, options), detector.Options.ImageSize, dataset, batchSize);

    /// <summary>
    /// The same with any detector: <paramref name="detect"/> takes a [N, 3, S, S] batch and returns each image's
    /// detections in pixels of the S×S input with labels 1.. (0 is background), as <see cref="SsdLite.Detect"/> does.
    /// </summary>
    public static DetectionEvaluationResult Evaluate(Func<Tensor, IReadOnlyList<IReadOnlyList<DetectedObject>>> detect, int inputSize,
        IDetectionDataset dataset, int batchSize = 16)
    {
        var truths = new List<GroundTruthBox>();
        var detections = new List<DetectedBox>();
        for (int start = 0; start < dataset.Count; start += batchSize)
        {
            int n = Math.Min(batchSize, dataset.Count - start);
            var inputs = new float[n][];
            var sizes = new (int W, int H)[n];
            for (int i = 0; i < n; i++)
            {
                int index = start + i;
                using var bitmap = dataset.LoadImage(index);
                sizes[i] = (bitmap.Width, bitmap.Height);
                var objects = dataset.GetObjects(index);
                truths.AddRange(objects.Select(o => new GroundTruthBox(index, o.Label, o.X1, o.Y1, o.X2, o.Y2, o.Difficult)));
                inputs[i] = SsdAugmentation.ToInput(DetectionImage.FromBitmap(bitmap, objects), inputSize).Chw;
            }
            using var batch = tensor(inputs.SelectMany(x => x).ToArray(), [n, 3, inputSize, inputSize]);
            var found = detect(batch);
            for (int i = 0; i < n; i++)
            {
                float sx = (float)sizes[i].W / inputSize, sy = (float)sizes[i].H / inputSize;
                detections.AddRange(found[i].Select(d => new DetectedBox(start + i, d.Label - 1, d.X1 * sx, d.Y1 * sy, d.X2 * sx, d.Y2 * sy, d.Score)));
            }
        }
        int classes = dataset.Classes.Count;
        return new DetectionEvaluationResult(
            DetectionMetrics.Voc(detections, truths, classes, ApMethod.Voc07ElevenPoint),
            DetectionMetrics.Voc(detections, truths, classes, ApMethod.AllPoint),
            DetectionMetrics.Coco(detections, truths, classes),
            dataset.Count);
    }
}
