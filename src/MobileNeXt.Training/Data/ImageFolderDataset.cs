using MobileNeXt.Inference;
using System.Collections.Concurrent;
using SkiaSharp;

namespace MobileNeXt.Training.Data;

/// <summary>
/// An ImageNet-layout folder, <c>root/&lt;class&gt;/&lt;image&gt;</c>, labelled the way torchvision's ImageFolder labels it:
/// class folders sorted ordinally (<see cref="StringComparer.Ordinal"/>, Python's string order) and numbered from 0;
/// within a class, files with the extensions of <see cref="ImageDecoding.Extensions"/> (any case) sorted ordinally.
/// Sub-folders of a class folder are searched too, as ImageFolder does.
/// </summary>
public sealed class ImageFolderDataset : IImageDataset
{
    private readonly (string Path, int Label)[] _samples;
    private readonly ImageFolderOptions _options;
    private readonly ConcurrentDictionary<string, string> _skipped = new(StringComparer.Ordinal);

    /// <summary>Indexes <paramref name="root"/>. Only file names are read unless <see cref="ImageFolderOptions.VerifyOnScan"/> is set.</summary>
    /// <exception cref="DirectoryNotFoundException"><paramref name="root"/> does not exist.</exception>
    /// <exception cref="InvalidDataException">The folder has no class sub-folders, or a class folder holds no images.</exception>
    public ImageFolderDataset(string root, ImageFolderOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        _options = options ?? new ImageFolderOptions();
        Root = Path.GetFullPath(root);
        if (!Directory.Exists(Root))
            throw new DirectoryNotFoundException(
                $"Image folder '{Root}' does not exist. Pass the folder that holds one sub-folder per class (e.g. imagenet/train).");

        var classes = Directory.GetDirectories(Root).Select(Path.GetFileName).OfType<string>().ToArray();
        Array.Sort(classes, StringComparer.Ordinal);
        if (classes.Length == 0)
            throw new InvalidDataException(
                $"Image folder '{Root}' has no class sub-folders. Arrange it as root/<class>/<image> (ImageNet layout), one sub-folder per class.");

        var samples = new List<(string, int)>();
        for (int label = 0; label < classes.Length; label++)
        {
            var files = ListImages(Path.Combine(Root, classes[label]))
                .Where(f => !_options.VerifyOnScan || HeaderIsReadable(f))
                .ToArray();
            if (files.Length == 0)
                throw new InvalidDataException(
                    $"Class folder '{Path.Combine(Root, classes[label])}' holds no readable images ({string.Join(" ", ImageDecoding.Extensions)}). " +
                    "Add images to it or remove the folder; every class folder becomes a label.");
            foreach (var f in files)
                samples.Add((f, label));
        }
        Classes = classes;
        _samples = [.. samples];
    }

    /// <summary>The indexed folder (absolute).</summary>
    public string Root { get; }

    /// <inheritdoc />
    public int Count => _samples.Length;

    /// <inheritdoc />
    public IReadOnlyList<string> Classes { get; }

    /// <summary>Number of distinct files skipped as corrupt so far (at scan or at load).</summary>
    public int SkippedCount => _skipped.Count;

    /// <summary>The distinct files skipped as corrupt so far, with the reason, sorted ordinally by path.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> SkippedFiles =>
        [.. _skipped.OrderBy(kv => kv.Key, StringComparer.Ordinal)];

    /// <summary>The path of sample <paramref name="index"/>.</summary>
    public string GetPath(int index) => _samples[index].Path;

    /// <inheritdoc />
    public int GetLabel(int index) => _samples[index].Label;

    /// <inheritdoc />
    /// <exception cref="InvalidDataException">The file is corrupt and the policy is <see cref="CorruptImagePolicy.Throw"/>.</exception>
    public SKBitmap? LoadImage(int index)
    {
        var path = _samples[index].Path;
        try
        {
            return ImageDecoding.DecodeRgb(path);
        }
        catch (InvalidDataException e) when (_options.CorruptImages == CorruptImagePolicy.Skip)
        {
            Skip(path, e.Message);
            return null;
        }
    }

    // torchvision's make_dataset walks sorted(os.walk(class_dir)) and sorts each folder's file names: folders in
    // ordinal order of their full path, then the files of each folder in ordinal order of their names.
    private static IEnumerable<string> ListImages(string classDir)
    {
        var folders = Directory.GetDirectories(classDir, "*", SearchOption.AllDirectories).Append(classDir).ToArray();
        Array.Sort(folders, StringComparer.Ordinal);
        foreach (var folder in folders)
        {
            var files = Directory.GetFiles(folder).Where(ImageDecoding.HasImageExtension).ToArray();
            Array.Sort(files, StringComparer.Ordinal);
            foreach (var f in files)
                yield return f;
        }
    }

    private bool HeaderIsReadable(string path)
    {
        using var codec = SKCodec.Create(path, out var result);
        if (codec is not null)
            return true;
        var reason = $"'{path}' is not a readable image ({result}).";
        if (_options.CorruptImages == CorruptImagePolicy.Throw)
            throw new InvalidDataException(reason + " Delete or replace the file, or skip it with CorruptImagePolicy.Skip.");
        Skip(path, reason);
        return false;
    }

    private void Skip(string path, string reason)
    {
        if (_skipped.TryAdd(path, reason))
            _options.Log($"Skipping corrupt image: {reason}");
    }
}
