using MobileNeXt.Interop;

namespace MobileNeXt.Training.Checkpoints;

/// <summary>
/// The checkpoint files of a run's output folder: <c>last.pth</c> (after every epoch and on interruption) and
/// <c>best.pth</c> (highest top-1). Every write goes to a temporary file that is renamed over the old one
/// (<see cref="AtomicFile"/>), so a crash mid-save leaves the previous checkpoint whole.
/// </summary>
public sealed class CheckpointStore
{
    /// <summary>File name of the latest checkpoint.</summary>
    public const string LastFileName = "last.pth";

    /// <summary>File name of the best checkpoint.</summary>
    public const string BestFileName = "best.pth";

    /// <summary>Uses <paramref name="directory"/> (created when missing).</summary>
    /// <exception cref="UnauthorizedAccessException">The folder cannot be created or written to.</exception>
    /// <exception cref="IOException">The folder cannot be created or written to.</exception>
    public CheckpointStore(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        Directory = Path.GetFullPath(directory);
        EnsureWritable(Directory);
    }

    /// <summary>The output folder (absolute).</summary>
    public string Directory { get; }

    /// <summary>Path of <c>last.pth</c>.</summary>
    public string LastPath => Path.Combine(Directory, LastFileName);

    /// <summary>Path of <c>best.pth</c>.</summary>
    public string BestPath => Path.Combine(Directory, BestFileName);

    /// <summary>Test hook: wraps the stream a checkpoint is written to (e.g. to fail part-way).</summary>
    internal Func<Stream, Stream>? WrapStream { get; set; }

    /// <summary>Writes <paramref name="checkpoint"/> as <c>last.pth</c>, and also as <c>best.pth</c> when <paramref name="isBest"/>.</summary>
    public void Save(TrainingCheckpoint checkpoint, bool isBest)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        Write(LastPath, checkpoint);
        if (isBest) Write(BestPath, checkpoint);
    }

    private void Write(string path, TrainingCheckpoint checkpoint) =>
        AtomicFile.Write(path, stream =>
        {
            var target = WrapStream?.Invoke(stream) ?? stream;
            checkpoint.WriteTo(target);
            target.Flush();
        });

    /// <summary>Creates <paramref name="directory"/> and proves it writable, with one clear message when it is not.</summary>
    public static void EnsureWritable(string directory)
    {
        try
        {
            System.IO.Directory.CreateDirectory(directory);
            string probe = Path.Combine(directory, $".write-test-{Guid.NewGuid():N}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new UnauthorizedAccessException($"Output folder '{directory}' is not writable ({e.Message}). Choose another with --output.", e);
        }
    }
}
