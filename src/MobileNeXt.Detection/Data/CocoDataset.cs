using System.Text.Json;
using MobileNeXt.Inference;
using SkiaSharp;

namespace MobileNeXt.Detection.Data;

/// <summary>
/// A COCO-format dataset: an instances JSON (<c>images</c> with <c>id</c>/<c>file_name</c>, <c>annotations</c> with
/// <c>image_id</c>, <c>category_id</c>, <c>bbox</c> [x, y, width, height] and <c>iscrowd</c>, <c>categories</c> with
/// <c>id</c>/<c>name</c>) and a folder of the images. Categories are renumbered 0.. in id order; crowd regions become
/// <see cref="ObjectBox.Difficult"/> objects.
/// </summary>
public sealed class CocoDataset : IDetectionDataset
{
    private readonly string imageFolder;
    private readonly string[] files;
    private readonly ObjectBox[][] objects;

    /// <summary>Reads the annotations file (images are decoded on demand).</summary>
    /// <param name="annotations">The instances JSON file.</param>
    /// <param name="imageFolder">The folder the <c>file_name</c>s are relative to; null for the JSON's folder.</param>
    /// <exception cref="FileNotFoundException">The JSON file does not exist.</exception>
    /// <exception cref="InvalidDataException">The JSON is not COCO instances (what is wrong is named).</exception>
    public CocoDataset(string annotations, string? imageFolder = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(annotations);
        if (!File.Exists(annotations)) throw new FileNotFoundException($"The COCO annotations file '{annotations}' does not exist.", annotations);
        this.imageFolder = imageFolder ?? Path.GetDirectoryName(Path.GetFullPath(annotations))!;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(annotations));
            var rootElement = doc.RootElement;
            JsonElement Array(string name) => rootElement.TryGetProperty(name, out var a) && a.ValueKind == JsonValueKind.Array ? a
                : throw new InvalidDataException($"it has no \"{name}\" array");
            var categories = Array("categories").EnumerateArray().Select(c => (Id: c.GetProperty("id").GetInt64(), Name: c.GetProperty("name").GetString()!))
                .OrderBy(c => c.Id).ToArray();
            Classes = categories.Select(c => c.Name).ToArray();
            var label = categories.Select((c, i) => (c.Id, i)).ToDictionary(p => p.Id, p => p.i);
            var images = Array("images").EnumerateArray().Select(i => (Id: i.GetProperty("id").GetInt64(), File: i.GetProperty("file_name").GetString()!)).ToArray();
            var position = images.Select((im, i) => (im.Id, i)).ToDictionary(p => p.Id, p => p.i);
            files = images.Select(i => i.File).ToArray();
            var lists = images.Select(_ => new List<ObjectBox>()).ToArray();
            foreach (var a in Array("annotations").EnumerateArray())
            {
                long imageId = a.GetProperty("image_id").GetInt64(), categoryId = a.GetProperty("category_id").GetInt64();
                if (!position.TryGetValue(imageId, out int image)) throw new InvalidDataException($"an annotation refers to image id {imageId}, which \"images\" does not list");
                if (!label.TryGetValue(categoryId, out int c)) throw new InvalidDataException($"an annotation refers to category id {categoryId}, which \"categories\" does not list");
                var bbox = a.GetProperty("bbox").EnumerateArray().Select(v => v.GetSingle()).ToArray();
                if (bbox.Length != 4 || bbox[2] < 0 || bbox[3] < 0) throw new InvalidDataException($"an annotation of image id {imageId} has a bbox that is not [x, y, width ≥ 0, height ≥ 0]");
                bool crowd = a.TryGetProperty("iscrowd", out var ic) && ic.GetInt32() == 1;
                lists[image].Add(new ObjectBox(c, bbox[0], bbox[1], bbox[0] + bbox[2], bbox[1] + bbox[3], crowd));
            }
            objects = lists.Select(l => l.ToArray()).ToArray();
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"'{annotations}' is not a COCO instances file: {e.Message}.", e);
        }
    }

    /// <inheritdoc/>
    public int Count => files.Length;

    /// <inheritdoc/>
    public IReadOnlyList<string> Classes { get; } = [];

    /// <inheritdoc/>
    public IReadOnlyList<ObjectBox> GetObjects(int index) => objects[index];

    /// <inheritdoc/>
    public SKBitmap LoadImage(int index) => ImageDecoding.DecodeRgb(Path.Combine(imageFolder, files[index]));
}
