using MobileNeXt.Detection.Boxes;
using MobileNeXt.Detection.Data;
using MobileNeXt.Detection.Training;
using static TorchSharp.torch;

namespace MobileNeXt.Detection.Tests.Training;

/// <summary>The detection batches (augmentation + prior matching) and the evaluation's plumbing.</summary>
public class DetectionLoaderTests
{
    private static readonly Lazy<FashionScenes> Scenes = new(() => new FashionScenes(new FashionScenesOptions { Count = 6, ImageSize = 96, Seed = 1 }));
    private static readonly SsdLiteOptions Options = new() { NumClasses = 11 };

    private static List<(float[] Images, long[] Labels, float[] Locations)> Read(int workers)
    {
        using var priors = PriorBoxes.Create(Options);
        var loader = new DetectionLoader(Scenes.Value, priors, Options, new DetectionLoaderOptions { BatchSize = 3, Workers = workers, Seed = 5 });
        var result = new List<(float[], long[], float[])>();
        foreach (var batch in loader.ReadEpoch(epoch: 2))
            using (batch)
                result.Add((batch.Images.data<float>().ToArray(), batch.Labels.data<long>().ToArray(), batch.Locations.data<float>().ToArray()));
        return result;
    }

    [Fact]
    public void Should_give_matched_batches_the_same_whatever_the_thread_count()
    {
        var one = Read(workers: 1);
        var two = Read(workers: 2);
        one.Should().HaveCount(2);
        for (int b = 0; b < 2; b++)
        {
            one[b].Images.Length.Should().Be(3 * 3 * 320 * 320);
            one[b].Labels.Length.Should().Be(3 * 3234, "one class per prior of SSDLite320");
            one[b].Images.Should().Equal(two[b].Images);
            one[b].Labels.Should().Equal(two[b].Labels);
            for (int i = 0; i < 3; i++)
                one[b].Labels.Skip(i * 3234).Take(3234).Count(l => l > 0).Should().BeGreaterThan(0, "every kept object claims at least its best prior");
            one[b].Labels.Should().OnlyContain(l => l >= 0 && l <= 10);
        }
    }

    [Fact]
    public void Should_match_more_priors_at_a_lower_iou_threshold_and_refuse_bad_options()
    {
        using var priors = PriorBoxes.Create(Options);
        long Positives(double threshold)
        {
            var loader = new DetectionLoader(Scenes.Value, priors, Options, new DetectionLoaderOptions { BatchSize = 6, Augment = false, Shuffle = false, IouThreshold = threshold });
            using var batch = loader.ReadEpoch(0).Single();
            using var positive = (batch.Labels > 0).sum();
            return positive.item<long>();
        }
        long strict = Positives(0.5), loose = Positives(0.3);
        strict.Should().BeGreaterThanOrEqualTo(Scenes.Value.Count, "every garment claims at least its best prior");
        loose.Should().BeGreaterThan(strict, "a prior with IoU 0.3–0.5 becomes a positive too");
        var bad = () => new DetectionLoader(Scenes.Value, priors, Options, new DetectionLoaderOptions { IouThreshold = 0 });
        bad.Should().Throw<ArgumentOutOfRangeException>().WithMessage("IouThreshold must lie in (0, 1]*");
        var zoom = () => new DetectionLoader(Scenes.Value, priors, Options, new DetectionLoaderOptions { MaxZoomOut = 0.9 });
        zoom.Should().Throw<ArgumentOutOfRangeException>().WithMessage("MaxZoomOut must be at least 1*");
    }

    [Fact]
    public void Should_refuse_a_detector_with_another_class_count()
    {
        using var priors = PriorBoxes.Create(new SsdLiteOptions());
        var act = () => new DetectionLoader(Scenes.Value, priors, new SsdLiteOptions());
        act.Should().Throw<ArgumentException>().WithMessage("The dataset has 10 classes, so the detector needs NumClasses = 11 (with background); it has 21.*");
    }

    [Fact]
    public void Should_score_an_oracle_perfectly_after_mapping_boxes_back_to_the_image()
    {
        // An oracle returns each image's objects in pixels of the 320² input with labels 1..: every metric is 1.
        var scenes = Scenes.Value;
        int next = 0;
        IReadOnlyList<IReadOnlyList<DetectedObject>> Oracle(Tensor batch)
        {
            var result = new List<IReadOnlyList<DetectedObject>>();
            for (int i = 0; i < batch.shape[0]; i++, next++)
                result.Add(scenes.GetObjects(next).Select(o => new DetectedObject(o.X1 * 320 / 96, o.Y1 * 320 / 96, o.X2 * 320 / 96, o.Y2 * 320 / 96, o.Label + 1, 0.9f)).ToList());
            return result;
        }
        var r = DetectionEvaluation.Evaluate(Oracle, 320, scenes, batchSize: 4);
        r.Images.Should().Be(6);
        r.Voc07.Mean.Should().BeApproximately(1, 1e-9);
        r.VocAllPoint.Mean.Should().BeApproximately(1, 1e-9);
        r.Coco.MeanAp.Should().BeApproximately(1, 1e-9);
    }
}
