using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace MobileNeXt.Training.Reporting;

/// <summary>
/// The per-epoch metrics of a run as JSON lines (<c>metrics.jsonl</c>: one <see cref="EpochMetrics"/> object per
/// line), next to the checkpoints. Appended after every epoch; a resumed run first drops the lines of epochs its
/// checkpoint does not include.
/// </summary>
public sealed class MetricsLog
{
    /// <summary>File name of the log in the output folder.</summary>
    public const string FileName = "metrics.jsonl";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { OmitTopKOfOtherTasks } },
    };

    // A task with its own metrics (MetricName set) has no top-1/top-5: its lines leave those fields out rather than
    // write zeros. Classification lines are as they were.
    private static void OmitTopKOfOtherTasks(JsonTypeInfo info)
    {
        if (info.Type != typeof(EpochMetrics)) return;
        foreach (var property in info.Properties)
            if (property.Name is "top1" or "top5" or "ema_top1" or "ema_top5")
                property.ShouldSerialize = (owner, _) => ((EpochMetrics)owner).MetricName is null;
    }

    /// <summary>The log in <paramref name="directory"/>.</summary>
    public MetricsLog(string directory) => Path = System.IO.Path.Combine(directory, FileName);

    /// <summary>The log file.</summary>
    public string Path { get; }

    /// <summary>Every line read back (an absent file gives none).</summary>
    public IReadOnlyList<EpochMetrics> ReadAll() =>
        File.Exists(Path)
            ? [.. File.ReadAllLines(Path).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<EpochMetrics>(l, Json)!)]
            : [];

    /// <summary>Keeps only the lines of epochs up to <paramref name="epochs"/> (those a resumed checkpoint holds).</summary>
    public void TruncateTo(int epochs)
    {
        if (!File.Exists(Path)) return;
        var kept = ReadAll().Where(m => m.Epoch <= epochs).Select(m => JsonSerializer.Serialize(m, Json));
        MobileNeXt.Interop.AtomicFile.Write(Path, s =>
        {
            using var w = new StreamWriter(s, leaveOpen: true);
            foreach (var line in kept) w.WriteLine(line);
        });
    }

    /// <summary>Appends one epoch's line.</summary>
    public void Append(EpochMetrics metrics) => File.AppendAllText(Path, JsonSerializer.Serialize(metrics, Json) + "\n");
}
