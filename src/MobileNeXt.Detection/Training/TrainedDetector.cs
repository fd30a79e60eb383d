using MobileNeXt.Interop;
using MobileNeXt.Training.Checkpoints;
using MobileNeXt.Training.Recipes;

namespace MobileNeXt.Detection.Training;

/// <summary>
/// A detector rebuilt from a checkpoint of <c>mobilenext train --task detection</c> (a <see cref="DetectionTask"/> run):
/// the checkpoint names its backbone, width, classes and input size, so nothing has to be repeated.
/// </summary>
public sealed class TrainedDetector : IDisposable
{
    private TrainedDetector(SsdLite detector, IReadOnlyList<string> classes, TrainingOptions options, string? dataSource, int epoch)
    {
        Detector = detector;
        Classes = classes;
        Options = options;
        DataSource = dataSource;
        Epoch = epoch;
    }

    /// <summary>The detector with the checkpoint's weights (eval mode).</summary>
    public SsdLite Detector { get; }

    /// <summary>Class names, in label order (without background).</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>The options of the run that wrote it.</summary>
    public TrainingOptions Options { get; }

    /// <summary>The data the run trained on, when known (a <see cref="DetectionData.Open"/> source).</summary>
    public string? DataSource { get; }

    /// <summary>Epochs completed.</summary>
    public int Epoch { get; }

    /// <summary>Whether <paramref name="path"/> is a training checkpoint of a detection run (false for anything else, readable or not).</summary>
    public static bool IsDetectionCheckpoint(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            using var checkpoint = TrainingCheckpoint.Read(path);
            return checkpoint.Task == DetectionTask.TaskName;
        }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Loads the detector of <paramref name="path"/>; its EMA weights with <paramref name="ema"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">It is not a training checkpoint, or one of another task, or has no EMA weights when asked.</exception>
    public static TrainedDetector Load(string path, bool ema = false)
    {
        using var checkpoint = TrainingCheckpoint.Read(path);
        if (checkpoint.Task != DetectionTask.TaskName)
            throw new InvalidDataException($"'{path}' is a checkpoint of a {checkpoint.Task} run, not of 'mobilenext train --task detection'.");
        var weights = ema ? checkpoint.EmaState ?? throw new InvalidDataException($"'{path}' holds no EMA weights (the run was trained without --ema).") : checkpoint.ModelState;
        var options = SsdLiteOptions.ForImageSize(checkpoint.Options.InputSize, checkpoint.Classes.Count + 1);
        var detector = DetectionTask.CreateDetector(checkpoint.Model, checkpoint.Width, options);
        try
        {
            ModelWeights.Load(detector, weights, path);
        }
        catch
        {
            detector.Dispose();
            throw;
        }
        detector.eval();
        return new TrainedDetector(detector, checkpoint.Classes, checkpoint.Options, checkpoint.DataSource, checkpoint.Epoch);
    }

    /// <inheritdoc />
    public void Dispose() => Detector.Dispose();
}
