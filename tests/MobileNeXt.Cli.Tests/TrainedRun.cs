using System.Text.Json;
using MobileNeXt.Tests.Shared;
using MobileNeXt.Training.Checkpoints;

namespace MobileNeXt.Cli.Tests;

/// <summary>
/// One small <c>mobilenext train</c> run shared by the verbs that need trained weights (eval, predict, export,
/// quantize): the paper preset with overrides, mobilenext_035 at 32² on the synthetic shapes (2,000 training and 400
/// validation images of 10 classes), 4 epochs (the preset's 3 warm-up epochs and one cosine epoch) of batch 128.
/// About 25 s on two cores. The INT8 model of those weights is made on first use.
/// </summary>
public sealed class TrainedRun : IDisposable
{
    public const string Model = "mobilenext_035";
    public const int InputSize = 32, Epochs = 4, BatchSize = 128;

    /// <summary>TrainingData's synthetic set: 2,000 training and 400 validation images of 10 classes.</summary>
    public const int TrainImages = 2000, ValidationImages = 400, Classes = 10;

    private readonly TempFolder _folder = new();
    private readonly Lazy<CliResult> _quantized;

    public TrainedRun()
    {
        Output = _folder.Combine("run");
        Result = Cli.Run("train", "--data", "synthetic", "--preset", "paper", "--model", Model, "--input-size", $"{InputSize}",
            "--epochs", $"{Epochs}", "--batch-size", $"{BatchSize}", "--batchnorm", "libtorch", "--output", Output);
        Metrics = File.Exists(MetricsFile)
            ? File.ReadAllLines(MetricsFile).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList()
            : [];
        Int8Model = _folder.Combine("int8.onnx");
        _quantized = new(() => Cli.Run("quantize", Model, "--weights", LastCheckpoint, "--calibration", "synthetic", "--images", "64",
            "--onnx", Int8Model, "--evaluate"));
    }

    public string Output { get; }

    internal CliResult Result { get; }

    public string LastCheckpoint => Path.Combine(Output, "last.pth");

    public string MetricsFile => Path.Combine(Output, "metrics.jsonl");

    /// <summary>metrics.jsonl's records, one per epoch.</summary>
    public IReadOnlyList<JsonElement> Metrics { get; }

    /// <summary>The top-1 and top-5 (%) the trainer measured on the validation split after the last epoch.</summary>
    public (double Top1, double Top5) FinalAccuracy => (Metrics[^1].GetProperty("top1").GetDouble(), Metrics[^1].GetProperty("top5").GetDouble());

    public string Int8Model { get; }

    /// <summary><c>mobilenext quantize</c> of the last checkpoint (64 calibration images, with --evaluate).</summary>
    internal CliResult Quantized => _quantized.Value;

    /// <summary>A file in a folder of this run that the tests may fill.</summary>
    public string Scratch(string name) => _folder.Combine(name);

    /// <summary>The class names the checkpoint stores.</summary>
    public IReadOnlyList<string> CheckpointClasses()
    {
        using var checkpoint = TrainingCheckpoint.Read(LastCheckpoint);
        return checkpoint.Classes;
    }

    public void Dispose() => _folder.Dispose();
}

[CollectionDefinition(Name)]
public sealed class TrainedRunCollection : ICollectionFixture<TrainedRun>
{
    public const string Name = "trained run";
}
