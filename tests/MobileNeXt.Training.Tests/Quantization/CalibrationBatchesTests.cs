using MobileNeXt.Inference;
using MobileNeXt.Training.Data;

namespace MobileNeXt.Training.Tests.Quantization;

/// <summary>Calibration images drawn from a training split.</summary>
public class CalibrationBatchesTests
{
    [Fact]
    public void Should_say_when_the_set_has_too_few_images()
    {
        var set = new SyntheticShapesDataset(new SyntheticShapesOptions { Count = 5, ImageSize = 32 });
        var act = () => Evaluation.CalibrationBatches(set, new EvalPreprocessing(32, 32));
        act.Should().Throw<ArgumentException>().WithMessage("The calibration set holds 5 images; INT8 calibration needs at least 32*");
    }

    [Fact]
    public void Should_give_the_same_seeded_sample_on_every_pass()
    {
        var set = new SyntheticShapesDataset(new SyntheticShapesOptions { Count = 100, ImageSize = 32 });
        var batches = Evaluation.CalibrationBatches(set, new EvalPreprocessing(32, 32), images: 40, batchSize: 16);
        var first = batches.ToList();
        var second = batches.ToList();
        first.Select(b => b.shape[0]).Should().Equal(16, 16, 8);
        for (int i = 0; i < first.Count; i++) (first[i] - second[i]).abs().max().item<float>().Should().Be(0, "the calibrator's two passes must see the same images");
        foreach (var t in first.Concat(second)) t.Dispose();
    }
}

/// <summary>The agreement/top-1 arithmetic quantize and compare report.</summary>
public class PercentEqualTests
{
    [Fact]
    public void Should_count_the_positions_where_two_answer_lists_agree()
    {
        // 3 of 4 positions equal → 75 %.
        Evaluation.PercentEqual([1, 2, 3, 4], [1, 2, 0, 4]).Should().Be(75);
        var act = () => Evaluation.PercentEqual([1, 2], [1]);
        act.Should().Throw<ArgumentException>().WithMessage("The two lists differ in length (2 and 1)*");
    }
}
