using Microsoft.ML.OnnxRuntime;
using MobileNeXt.Inference;
using MobileNeXt.Interop;
using MobileNeXt.Models;
using MobileNeXt.Quantization;

namespace MobileNeXt.Training.Tests.Quantization;

/// <summary>
/// INT8 on a trained network (Fixtures/fashion_mnist_mobilenext_035.pt: MobileNeXt-0.35 after the Fashion-MNIST
/// sample's 10 epochs, 90.29 % test top-1), on the Fashion-MNIST test set: the targets (≤ 1 point lost,
/// ≥ 98 % agreement with FP32), and ONNX Runtime's INT8 model against its unfused run and against the TorchSharp
/// simulation of the same file.
/// </summary>
public class Int8AccuracyTests
{
    private static readonly EvalPreprocessing Preprocessing = new(32, 32); // the sample's evaluation: the whole 28² image at 32²

    private sealed class Setup : IDisposable
    {
        public Setup()
        {
            Data = TrainingData.FashionMnist();
            Model = ModelRegistry.Create("mobilenext_035", new ModelCreateOptions { NumClasses = 10 });
            ModelWeights.Load(Model, Path.Combine(AppContext.BaseDirectory, "Fixtures", "fashion_mnist_mobilenext_035.pt"));
            Model.eval();
            var statistics = Int8Calibrator.Calibrate(Model, Evaluation.CalibrationBatches(Data.Train, Preprocessing, images: 512), histograms: false);
            Int8Path = Path.Combine(Directory.CreateTempSubdirectory("mobilenext-int8").FullName, "int8.onnx");
            Report = Int8Exporter.Export(Model, statistics, Int8Path)!;
            (Fp32, Labels) = Evaluation.Predict(Model, Data.Validation, Preprocessing);
            using var int8 = new OnnxRuntimeModel(Int8Path);
            (Int8, _) = Evaluation.Predict(int8, Data.Validation, Preprocessing, channelsLast: false);
        }

        public TrainingData Data { get; }
        public ImageClassifier Model { get; }
        public string Int8Path { get; }
        public Int8FusionReport Report { get; }
        public int[] Fp32 { get; }
        public int[] Labels { get; }
        public int[] Int8 { get; }

        public void Dispose() => Model.Dispose();
    }

    private static readonly Lazy<Setup> Shared = new(() => new Setup());

    private static double Percent(int[] a, int[] b) => 100.0 * a.Zip(b).Count(p => p.First == p.Second) / a.Length;

    [Fact]
    public void Should_lose_at_most_one_point_and_agree_with_fp32_on_98_percent_of_test_images()
    {
        var s = Shared.Value;
        s.Report.AllConvsFused.Should().BeTrue();
        double fp32 = Percent(s.Fp32, s.Labels), int8 = Percent(s.Int8, s.Labels);
        fp32.Should().BeApproximately(90.29, 0.005, "the fixture's recorded test top-1 (its training run's last epoch)");
        (fp32 - int8).Should().BeLessThanOrEqualTo(1.0, $"per-channel INT8 loses ≤ 1 point (FP32 {fp32:0.00} %, INT8 {int8:0.00} %)");
        Percent(s.Fp32, s.Int8).Should().BeGreaterThanOrEqualTo(98.0);
    }

    [Fact]
    public void Should_give_the_same_answers_in_the_torchsharp_simulation_as_in_onnx_runtime()
    {
        var s = Shared.Value;
        using var simulation = new OnnxTorchModel(s.Int8Path);
        var (simulated, _) = Evaluation.Predict(simulation, s.Data.Validation, Preprocessing, channelsLast: false);
        Percent(simulated, s.Labels).Should().BeApproximately(Percent(s.Int8, s.Labels), 0.2, "the simulation measures the INT8 model's top-1");
        Percent(simulated, s.Int8).Should().BeGreaterThanOrEqualTo(99.5, "only rare 1-step rounding flips separate the two");
    }

    [Fact]
    public void Should_give_the_same_answers_fused_and_unfused_in_onnx_runtime()
    {
        var s = Shared.Value;
        using var unfused = new OnnxRuntimeModel(s.Int8Path, optimizations: GraphOptimizationLevel.ORT_DISABLE_ALL);
        var (plain, _) = Evaluation.Predict(unfused, s.Data.Validation, Preprocessing, channelsLast: false);
        Percent(plain, s.Int8).Should().BeGreaterThanOrEqualTo(99.5, "integer kernels compute the QDQ graph's arithmetic up to rounding ties");
    }
}
