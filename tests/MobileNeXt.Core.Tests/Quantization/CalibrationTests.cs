using MobileNeXt.Models;
using MobileNeXt.Quantization;
using static TorchSharp.torch;

namespace MobileNeXt.Core.Tests.Quantization;

/// <summary>The calibration methods against closed forms, and calibration's bad input.</summary>
public class CalibrationTests
{
    private static TensorStatistics Uniform(float limit, Func<int, long> count)
    {
        var h = new long[CalibrationStatistics.Bins];
        for (int i = 0; i < h.Length; i++) h[i] = count(i);
        return new TensorStatistics(-limit, limit, limit, h);
    }

    private static CalibrationStatistics One(TensorStatistics s) => new() { Model = "m", Images = 1, Height = 32, Width = 32, Tensors = new Dictionary<string, TensorStatistics> { ["v"] = s } };

    [Fact]
    public void Should_take_the_observed_extremes_widened_to_zero_for_minmax()
    {
        var stats = One(new TensorStatistics(0.5f, 3f, 3f, []));
        stats.Range("v", CalibrationMethod.MinMax).Should().Be((0f, 3f), "a quantizer's range contains 0 (ORT's compute_scale_zp)");
    }

    [Fact]
    public void Should_cut_the_rarest_tail_for_percentile()
    {
        // 1000 counts in each of the 4096 bins over [−4096, 4096] (bin width 2), plus nothing else: the 99th percentile
        // leaves 1 % of 4,096,000 = 40,960 counts, i.e. 40.96 bins, above it → 40 whole bins cut, 80 units from each end.
        var stats = One(Uniform(4096, _ => 1000));
        var (lo, hi) = stats.Range("v", CalibrationMethod.Percentile, percentile: 99);
        hi.Should().Be(4096 - 80);
        lo.Should().Be(-4096 + 80);
    }

    [Fact]
    public void Should_keep_the_whole_range_of_a_uniform_distribution_for_entropy()
    {
        // Uniform counts: at the full width every merged level is uniform, so Q = P and KL = 0; any clipping piles the
        // tail into the last bin, which Q cannot follow (KL > 0). So the whole range wins.
        var stats = One(Uniform(10, _ => 500));
        stats.Range("v", CalibrationMethod.Entropy).Should().Be((-10f, 10f));
        CalibrationRanges.KlThresholdBins(Enumerable.Repeat(7.0, 2048).ToArray(), 128).Should().Be(2048);
    }

    [Fact]
    public void Should_clip_a_long_sparse_tail_for_entropy()
    {
        // |x| ~ a Laplace-like decay e^(−j/64) over 2048 bins: beyond ~10 time constants the counts are a few, which
        // 128 levels cannot place; KL clips there, well inside the range and well outside the bulk.
        var magnitude = Enumerable.Range(0, 2048).Select(j => Math.Floor(1e6 * Math.Exp(-j / 64.0))).ToArray();
        int bins = CalibrationRanges.KlThresholdBins(magnitude, 128);
        bins.Should().BeInRange(3 * 64, 14 * 64);
    }

    [Fact]
    public void Should_refuse_histogram_methods_on_minmax_only_statistics()
    {
        var stats = One(new TensorStatistics(-1, 1, 1, []));
        var act = () => stats.Range("v", CalibrationMethod.Entropy);
        act.Should().Throw<InvalidOperationException>().WithMessage("*no histograms*calibrate again*");
    }

    [Fact]
    public void Should_say_when_there_are_no_images()
    {
        using var model = ModelRegistry.Create("mobilenext_035", new ModelCreateOptions { NumClasses = 10 });
        var act = () => Int8Calibrator.Calibrate(model, []);
        act.Should().Throw<ArgumentException>().WithMessage("Calibration needs at least one batch of images*");
        var wrong = () => Int8Calibrator.Calibrate(model, [zeros(2, 1, 32, 32)]);
        wrong.Should().Throw<ArgumentException>().WithMessage("Calibration batches must be N×3×H×W; got [2, 1, 32, 32]*");
    }

    [Fact]
    public void Should_record_the_min_and_max_of_the_input_exactly_and_save_them()
    {
        using var model = ModelRegistry.Create("mobilenext_035", new ModelCreateOptions { NumClasses = 10 });
        model.eval();
        using var a = full(1, 3, 32, 32, -1.5f);
        using var b = full(1, 3, 32, 32, 2.25f);
        var stats = Int8Calibrator.Calibrate(model, [a, b]);
        stats.Tensors["input"].Min.Should().Be(-1.5f);
        stats.Tensors["input"].Max.Should().Be(2.25f);
        stats.Tensors["input"].Histogram.Sum().Should().Be(2 * 3 * 32 * 32, "every value lands in a bin");
        stats.Images.Should().Be(2);
        string path = Path.Combine(TestSupport.TempDir(), "stats.json");
        stats.Save(path);
        var back = CalibrationStatistics.Load(path);
        back.Tensors["input"].Should().BeEquivalentTo(stats.Tensors["input"]);
        back.Signature.Should().Be(stats.Signature).And.HaveLength(64);
    }

    [Fact]
    public void Should_refuse_statistics_of_another_model_and_write_nothing()
    {
        using var model = ModelRegistry.Create("mobilenext_035", new ModelCreateOptions { NumClasses = 10 });
        using var other = ModelRegistry.Create("mobilenetv2_035", new ModelCreateOptions { NumClasses = 10 });
        model.eval();
        var stats = Int8Calibrator.Calibrate(model, [randn(2, 3, 32, 32)], histograms: false);
        string path = Path.Combine(TestSupport.TempDir(), "int8.onnx");
        var act = () => Int8Exporter.Export(other, stats, path);
        act.Should().Throw<ArgumentException>().WithMessage("The calibration statistics were collected on another network (MobileNeXtNet*not on this MobileNetV2*calibrate this model*");
        File.Exists(path).Should().BeFalse();
        using var wider = ModelRegistry.Create("mobilenext_050", new ModelCreateOptions { NumClasses = 10 });
        var sameClass = () => Int8Exporter.Export(wider, stats, path);
        sameClass.Should().Throw<ArgumentException>().WithMessage("*another network*another width*");
        var unwritable = () => Int8Exporter.Export(model, stats, "/sys/int8.onnx");
        unwritable.Should().Throw<UnauthorizedAccessException>().WithMessage("Cannot write '/sys/int8.onnx'*");
        var missing = () => Int8Exporter.Export(model, stats, Path.Combine(TestSupport.TempDir(), "no", "int8.onnx"));
        missing.Should().Throw<DirectoryNotFoundException>();
    }
}
