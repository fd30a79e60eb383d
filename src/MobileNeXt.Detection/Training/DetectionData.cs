using System.Globalization;
using MobileNeXt.Detection.Data;
using MobileNeXt.Training.Data;
using SkiaSharp;

namespace MobileNeXt.Detection.Training;

/// <summary>A detection training split and a validation split with the same classes.</summary>
/// <param name="Train">Training images.</param>
/// <param name="Validation">Validation (or test) images.</param>
/// <param name="Description">What was opened, for messages.</param>
public sealed record DetectionData(IDetectionDataset Train, IDetectionDataset Validation, string Description)
{
    /// <summary>What <see cref="Open"/> was given, so a checkpoint can reopen the same data on resume; null for data assembled in code.</summary>
    public string? Source { get; init; }

    /// <summary>The forms <see cref="Open"/> accepts, for help texts.</summary>
    public const string Forms = "voc:<dir>, coco:<json>[,<images dir>], fashion-scenes[:<train>,<val>]";

    /// <summary>Scenes of <c>fashion-scenes</c> without counts: training and validation images.</summary>
    public const int DefaultSceneTrainCount = 1000, DefaultSceneValidationCount = 200;

    /// <summary>
    /// Opens <paramref name="source"/>:
    /// <list type="bullet">
    /// <item><c>voc:&lt;dir&gt;</c>: a Pascal VOC folder (Annotations/, JPEGImages/, ImageSets/Main/); trains on <c>trainval</c>
    /// and validates on <c>test</c> (VOC2007's), or on <c>val</c> when there is no test list.</item>
    /// <item><c>coco:&lt;json&gt;[,&lt;images dir&gt;]</c>: a COCO instances file (images next to it unless a folder is given);
    /// the last tenth of its images (at least one) validates, the rest trains.</item>
    /// <item><c>fashion-scenes[:&lt;train&gt;,&lt;val&gt;]</c>: the built-in scenes (<see cref="FashionScenes"/>) of
    /// <paramref name="sceneSize"/>² pixels, training scenes (seed 1) from Fashion-MNIST's training garments and validation
    /// scenes (seed 2) from its test garments; 1000 and 200 when no counts are given.</item>
    /// </list>
    /// </summary>
    /// <exception cref="ArgumentException">The prefix is none of these, or the counts are not positive numbers.</exception>
    /// <exception cref="DirectoryNotFoundException">The VOC folder or its split list is missing.</exception>
    /// <exception cref="FileNotFoundException">The COCO file, or Fashion-MNIST, is missing.</exception>
    /// <exception cref="InvalidDataException">An annotation cannot be read.</exception>
    public static DetectionData Open(string source, int sceneSize = 320, string? fashionMnistFolder = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(source);
        string trimmed = source.Trim();
        int colon = trimmed.IndexOf(':', StringComparison.Ordinal);
        string kind = (colon < 0 ? trimmed : trimmed[..colon]).ToLowerInvariant();
        string rest = colon < 0 ? "" : trimmed[(colon + 1)..];
        switch (kind)
        {
            case "fashion-scenes":
            {
                int train = DefaultSceneTrainCount, val = DefaultSceneValidationCount;
                if (rest.Length > 0)
                {
                    var parts = rest.Split(',');
                    if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out train)
                        || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out val) || train < 1 || val < 1)
                        throw new ArgumentException($"'{source}': give the scene counts as fashion-scenes:<train>,<val>, e.g. fashion-scenes:1000,200.", nameof(source));
                }
                var options = new FashionScenesOptions { Count = train, ImageSize = sceneSize, Seed = 1 };
                return new DetectionData(new FashionScenes(options, fashionMnistFolder),
                    new FashionScenes(options with { Count = val, Seed = 2, Split = FashionMnistSplit.Test }, fashionMnistFolder),
                    $"Fashion-MNIST scenes ({train} training, {val} validation, {sceneSize}²)") { Source = $"fashion-scenes:{train},{val}" };
            }
            case "voc" when rest.Length > 0:
            {
                string root = Path.GetFullPath(rest);
                if (!Directory.Exists(root))
                    throw new DirectoryNotFoundException($"The VOC folder '{root}' does not exist (voc:<dir> names a folder holding Annotations/, JPEGImages/ and ImageSets/Main/).");
                string val = File.Exists(Path.Combine(root, "ImageSets", "Main", "test.txt")) ? "test" : "val";
                return new DetectionData(new VocDataset(root, "trainval"), new VocDataset(root, val), $"Pascal VOC '{root}' (trainval, {val})") { Source = "voc:" + root };
            }
            case "coco" when rest.Length > 0:
            {
                var parts = rest.Split(',', 2);
                string json = Path.GetFullPath(parts[0]);
                string? images = parts.Length > 1 ? Path.GetFullPath(parts[1]) : null;
                var all = new CocoDataset(json, images);
                if (all.Count < 2) throw new InvalidDataException($"'{json}' lists {all.Count} image(s); training and validation need at least two.");
                int validation = Math.Max(1, all.Count / 10);
                string normalised = "coco:" + json + (images is null ? "" : "," + images);
                return new DetectionData(new DetectionSubset(all, 0, all.Count - validation), new DetectionSubset(all, all.Count - validation, validation),
                    $"COCO '{json}' ({all.Count - validation} training, {validation} validation images)") { Source = normalised };
            }
            default:
                throw new ArgumentException($"Unknown detection data '{source}'. Use one of: {Forms}.", nameof(source));
        }
    }
}

/// <summary>A contiguous range of another detection dataset's images.</summary>
internal sealed class DetectionSubset(IDetectionDataset inner, int start, int count) : IDetectionDataset
{
    public int Count => count;

    public IReadOnlyList<string> Classes => inner.Classes;

    public IReadOnlyList<ObjectBox> GetObjects(int index) => inner.GetObjects(start + index);

    public SKBitmap LoadImage(int index) => inner.LoadImage(start + index);
}
