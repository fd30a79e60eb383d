using System.Collections;
using System.Globalization;
using System.Text.Json;
using MobileNeXt.Training.Recipes;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace MobileNeXt.Training.Checkpoints;

/// <summary>
/// Everything needed to continue a run exactly, in one file in PyTorch's format (a <c>torch.save</c> zip holding a
/// dict, the layout of the released checkpoints): <c>state_dict</c> (the model), <c>state_dict_ema</c> (when EMA is
/// on), <c>optimizer</c> (the momentum buffers by parameter name, of SGD or RMSpropTF), <c>optimizer_square_avg</c>
/// (RMSpropTF's square averages by parameter name; absent for SGD and in older checkpoints), <c>epoch</c> (epochs completed), <c>step</c>
/// (global optimizer steps done), <c>steps_per_epoch</c>, <c>world_size</c> (processes that trained it; 1 when absent), <c>arch</c>, <c>width</c>, <c>identity_multiplier</c>, <c>num_classes</c>,
/// <c>classes</c> (JSON), <c>data</c> (the data source the run opened, when known: a built-in name or a folder), <c>best_top1</c> (the best value of the task's primary metric: top-1, or mAP@0.5 for detection), <c>task</c> (absent for classification), <c>options</c> (the <see cref="TrainingOptions"/> as JSON) and
/// <c>version</c>. The random state is not stored: every generator of a run is re-derived from (seed, epoch, step).
/// <c>mobilenext predict --weights</c> and <c>eval</c> read the weights straight from it.
/// </summary>
public sealed class TrainingCheckpoint : IDisposable
{
    /// <summary>Format version written into the file.</summary>
    public const int FormatVersion = 1;

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    // A checkpoint written before the options named the pointwise path was trained with the matrix product, the only
    // path then, and one from before they named the BatchNorm path with libtorch's BatchNorm; it resumes with them,
    // whatever the allocator and thread count now.
    internal static TrainingOptions ReadOptions(string json)
    {
        var options = JsonSerializer.Deserialize<TrainingOptions>(json, Json)!;
        if (!json.Contains($"\"{nameof(TrainingOptions.PointwiseConvolutions)}\"", StringComparison.Ordinal))
            options = options with { PointwiseConvolutions = PointwiseConvolutionPath.MatrixProduct };
        if (!json.Contains($"\"{nameof(TrainingOptions.BatchNorm)}\"", StringComparison.Ordinal))
            options = options with { BatchNorm = BatchNormPath.LibTorch };
        return options;
    }

    /// <summary>
    /// The task the run learnt (<see cref="TrainingTask.Name"/>: <c>classification</c>, <c>detection</c>), stored as
    /// <c>task</c>; a checkpoint without the entry is a classification run's. Default <c>classification</c>.
    /// </summary>
    public string Task { get; init; } = ClassificationTask.TaskName;

    /// <summary>Registry model name (of the backbone, for a detector).</summary>
    public required string Model { get; init; }

    /// <summary>Width multiplier of the network.</summary>
    public required double Width { get; init; }

    /// <summary>Identity tensor multiplier α.</summary>
    public required double IdentityMultiplier { get; init; }

    /// <summary>Class names, in label order.</summary>
    public required IReadOnlyList<string> Classes { get; init; }

    /// <summary>
    /// The data the run trained on, as <see cref="TrainingData.Source"/> gives it (a built-in name or an absolute folder),
    /// so <c>mobilenext train --resume</c> needs no <c>--data</c>; null when the data was assembled in code or the
    /// checkpoint predates this entry.
    /// </summary>
    public string? DataSource { get; init; }

    /// <summary>
    /// What the task needs beyond the options to rebuild its model (<see cref="TrainingTask.Settings"/>: a searched cell,
    /// say), stored as <c>task_settings</c>; null for tasks whose options say it all.
    /// </summary>
    public string? TaskSettings { get; init; }

    /// <summary>Epochs completed.</summary>
    public required int Epoch { get; init; }

    /// <summary>Global optimizer steps done.</summary>
    public required long Step { get; init; }

    /// <summary>Optimizer steps per epoch of the run (a resumed run must have the same to continue exactly).</summary>
    public required long StepsPerEpoch { get; init; }

    /// <summary>Number of processes (MPI ranks) that wrote it; a resumed run must have as many to continue exactly. Default 1.</summary>
    public int WorldSize { get; init; } = 1;

    /// <summary>Best value of the task's primary metric so far (top-1 %, or mAP@0.5 % for detection), or -1 when not evaluated yet.</summary>
    public double BestTop1 { get; init; } = -1;

    /// <summary>The options of the run.</summary>
    public required TrainingOptions Options { get; init; }

    /// <summary>Whether <see cref="Dispose"/> disposes the tensors: true for a checkpoint <see cref="Read"/> from a file, false for one made of a live model's tensors.</summary>
    public bool OwnsTensors { get; init; }

    /// <summary>The model's state_dict.</summary>
    public required IReadOnlyDictionary<string, Tensor> ModelState { get; init; }

    /// <summary>The EMA model's state_dict, or null .</summary>
    public IReadOnlyDictionary<string, Tensor>? EmaState { get; init; }

    /// <summary>The optimizer's momentum buffers by parameter name; parameters that have none yet are absent.</summary>
    public required IReadOnlyDictionary<string, Tensor> MomentumBuffers { get; init; }

    /// <summary>RMSpropTF's square averages by parameter name, or null (SGD, or a checkpoint written before RMSpropTF existed).</summary>
    public IReadOnlyDictionary<string, Tensor>? SquareAverages { get; init; }

    /// <summary>Throws when this checkpoint (read from <paramref name="path"/>) is of another task than <paramref name="task"/>: it cannot be resumed as one.</summary>
    /// <exception cref="InvalidDataException">The tasks differ; the message says which flag resumes it.</exception>
    public void RequireTask(string task, string path)
    {
        if (Task != task)
            throw new InvalidDataException(
                $"Checkpoint '{path}' is of a {Task} run, but this run trains {task}; resume it with --task {Task}, or start a new run in another --output folder.");
    }

    /// <summary>Writes the checkpoint to <paramref name="stream"/>.</summary>
    public void WriteTo(Stream stream)
    {
        var root = new Hashtable
        {
            ["version"] = FormatVersion,
            ["arch"] = Model,
            ["width"] = Width,
            ["identity_multiplier"] = IdentityMultiplier,
            ["num_classes"] = Classes.Count,
            ["classes"] = JsonSerializer.Serialize(Classes, Json),
            ["epoch"] = Epoch,
            ["step"] = Step,
            ["steps_per_epoch"] = StepsPerEpoch,
            ["world_size"] = WorldSize,
            ["best_top1"] = BestTop1,
            ["options"] = JsonSerializer.Serialize(Options, Json),
            ["state_dict"] = ToHashtable(ModelState),
            ["optimizer"] = ToHashtable(MomentumBuffers),
        };
        if (DataSource is not null) root["data"] = DataSource;
        if (TaskSettings is not null) root["task_settings"] = TaskSettings;
        // Written for other tasks only, so a classification checkpoint stays byte-for-byte what it was.
        if (Task != ClassificationTask.TaskName) root["task"] = Task;
        if (EmaState is not null) root["state_dict_ema"] = ToHashtable(EmaState);
        if (SquareAverages is not null) root["optimizer_square_avg"] = ToHashtable(SquareAverages);
        PyTorchPickler.PickleStateDict(stream, root, leaveOpen: true);
    }

    /// <summary>Reads a checkpoint written by <see cref="WriteTo"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a training checkpoint of this library, or is damaged.</exception>
    public static TrainingCheckpoint Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Checkpoint '{path}' does not exist.", path);
        Hashtable root;
        try
        {
            root = PyTorchUnpickler.UnpickleStateDict(path);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidDataException($"'{path}' is not a readable checkpoint ({e.GetType().Name}: {e.Message}). It may be truncated or of another kind.", e);
        }
        try
        {
            if (root["version"] is not int version || root["options"] is not string options || root["arch"] is not string arch)
                throw new InvalidDataException($"'{path}' is a PyTorch file but not a training checkpoint of this library (it has no version/options/arch entries); use it with --weights, not --resume.");
            if (version > FormatVersion)
                throw new InvalidDataException($"'{path}' is checkpoint format {version}; this version reads up to {FormatVersion}. Update MobileNeXt.Training.");
            return new TrainingCheckpoint
            {
                Task = root["task"] as string ?? ClassificationTask.TaskName,
                Model = arch,
                Width = Convert.ToDouble(root["width"], CultureInfo.InvariantCulture),
                IdentityMultiplier = Convert.ToDouble(root["identity_multiplier"], CultureInfo.InvariantCulture),
                Classes = JsonSerializer.Deserialize<string[]>((string)root["classes"]!, Json)!,
                DataSource = root["data"] as string,
                TaskSettings = root["task_settings"] as string,
                Epoch = Convert.ToInt32(root["epoch"], CultureInfo.InvariantCulture),
                Step = Convert.ToInt64(root["step"], CultureInfo.InvariantCulture),
                StepsPerEpoch = Convert.ToInt64(root["steps_per_epoch"], CultureInfo.InvariantCulture),
                WorldSize = root["world_size"] is null ? 1 : Convert.ToInt32(root["world_size"], CultureInfo.InvariantCulture),
                OwnsTensors = true,
                BestTop1 = Convert.ToDouble(root["best_top1"], CultureInfo.InvariantCulture),
                Options = ReadOptions(options),
                ModelState = ToDictionary(root["state_dict"], path, "state_dict"),
                EmaState = root["state_dict_ema"] is null ? null : ToDictionary(root["state_dict_ema"], path, "state_dict_ema"),
                MomentumBuffers = ToDictionary(root["optimizer"], path, "optimizer"),
                SquareAverages = root["optimizer_square_avg"] is null ? null : ToDictionary(root["optimizer_square_avg"], path, "optimizer_square_avg"),
            };
        }
        catch (Exception e) when (e is InvalidCastException or FormatException or JsonException or NullReferenceException or KeyNotFoundException)
        {
            DisposeTensors(root);
            throw new InvalidDataException($"'{path}' is a damaged training checkpoint ({e.Message}).", e);
        }
        catch
        {
            DisposeTensors(root);
            throw;
        }
    }

    /// <summary>
    /// The class names stored in <paramref name="path"/> when it is a training checkpoint of this library, else null (a
    /// plain state_dict, a released checkpoint, a TorchSharp file, or anything unreadable: the weights loader reports
    /// those). Lets <c>predict</c> name classes without <c>--labels</c>.
    /// </summary>
    public static IReadOnlyList<string>? ReadClasses(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Hashtable root;
        try
        {
            root = PyTorchUnpickler.UnpickleStateDict(path);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return null;
        }
        try
        {
            return root["version"] is int && root["classes"] is string json ? JsonSerializer.Deserialize<string[]>(json, Json) : null;
        }
        catch (JsonException)
        {
            return null;
        }
        finally
        {
            DisposeTensors(root);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!OwnsTensors) return;
        foreach (var t in ModelState.Values) t.Dispose();
        foreach (var t in EmaState?.Values ?? []) t.Dispose();
        foreach (var t in MomentumBuffers.Values) t.Dispose();
        foreach (var t in SquareAverages?.Values ?? []) t.Dispose();
    }

    private static Hashtable ToHashtable(IReadOnlyDictionary<string, Tensor> tensors)
    {
        var table = new Hashtable();
        foreach (var (k, v) in tensors) table[k] = v;
        return table;
    }

    private static Dictionary<string, Tensor> ToDictionary(object? value, string path, string entry)
    {
        if (value is not IDictionary table)
            throw new InvalidDataException($"'{path}' has no '{entry}' dict.");
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (DictionaryEntry kv in table)
            result[(string)kv.Key] = kv.Value as Tensor ?? throw new InvalidDataException($"'{path}': {entry}['{kv.Key}'] is not a tensor.");
        return result;
    }

    private static void DisposeTensors(IDictionary table)
    {
        foreach (var v in table.Values)
        {
            if (v is Tensor t) t.Dispose();
            else if (v is IDictionary d) DisposeTensors(d);
        }
    }
}
