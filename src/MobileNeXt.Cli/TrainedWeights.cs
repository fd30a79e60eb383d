using MobileNeXt.Training.Checkpoints;

namespace MobileNeXt.Cli;

/// <summary>
/// A weights file as the verbs that load one see it: a <c>mobilenext train</c> checkpoint says how its network was
/// built and fed (model, width, α, class names, input size, evaluation resize), so those become the defaults and the
/// user need not repeat them; a state_dict or a TorchSharp file says nothing, and the command line alone describes the
/// network.
/// </summary>
internal sealed class TrainedWeights
{
    private TrainedWeights(string path, TrainingCheckpoint? checkpoint)
    {
        Path = path;
        if (checkpoint is null) return;
        Model = checkpoint.Model;
        Width = checkpoint.Options.Width;
        IdentityMultiplier = checkpoint.IdentityMultiplier;
        Classes = checkpoint.Classes;
        InputSize = checkpoint.Options.InputSize;
        EvalResize = checkpoint.Options.EffectiveEvalResizeSize;
    }

    /// <summary>The file's full path.</summary>
    public string Path { get; }

    /// <summary>The registry model the checkpoint was trained as; null for other weight files (as are the properties below).</summary>
    public string? Model { get; }

    /// <summary>The width the run overrode the registry's with, or null for the registry's.</summary>
    public double? Width { get; }

    public double? IdentityMultiplier { get; }

    /// <summary>The class names of the training data, in label order.</summary>
    public IReadOnlyList<string>? Classes { get; }

    public int? InputSize { get; }

    public int? EvalResize { get; }

    /// <summary>Reads what <paramref name="path"/> says about its network.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static TrainedWeights Inspect(string path)
    {
        string full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"The weights file '{full}' does not exist.", full);
        try
        {
            using var checkpoint = TrainingCheckpoint.Read(full);
            return new TrainedWeights(full, checkpoint);
        }
        catch (InvalidDataException)
        {
            return new TrainedWeights(full, null); // a state_dict or TorchSharp file: loaded as the command line describes
        }
    }

    /// <summary>Refuses a checkpoint of another model, naming the one it holds (the shape list the loader would print says less).</summary>
    /// <param name="model">The model the command line names.</param>
    /// <param name="asOption">Whether the verb takes it as <c>--model</c> (else as its argument), to say what to change.</param>
    public void CheckModel(string model, bool asOption)
    {
        if (Model is not null && Model != model)
            throw new ArgumentException($"'{Path}' holds weights of {Model}, not {model}; give {(asOption ? "--model " : "")}{Model} instead.");
    }
}
