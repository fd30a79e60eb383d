using System.Globalization;
using System.Xml.Linq;
using MobileNeXt.Inference;
using SkiaSharp;

namespace MobileNeXt.Detection.Data;

/// <summary>
/// A Pascal VOC layout folder: <c>ImageSets/Main/&lt;split&gt;.txt</c> lists image ids, <c>Annotations/&lt;id&gt;.xml</c>
/// holds each image's objects (<c>name</c>, <c>difficult</c>, <c>bndbox</c>), <c>JPEGImages/&lt;id&gt;.jpg</c> the pixels.
/// Box corners are VOC's 1-based pixel indices moved to 0-based (x − 1), as the SSD code reads them.
/// </summary>
public sealed class VocDataset : IDetectionDataset
{
    /// <summary>The 20 classes of Pascal VOC, in the devkit's order.</summary>
    public static IReadOnlyList<string> VocClasses { get; } =
    [
        "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
        "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
    ];

    private readonly string root;
    private readonly string[] ids;
    private readonly ObjectBox[][] objects;

    /// <summary>Reads the split's list and every annotation (images are decoded on demand).</summary>
    /// <param name="root">The folder holding <c>Annotations</c>, <c>JPEGImages</c> and <c>ImageSets/Main</c> (e.g. VOCdevkit/VOC2007).</param>
    /// <param name="split">The list in ImageSets/Main: trainval, train, val or test.</param>
    /// <param name="classes">Class names; null for the 20 VOC classes. An object of another class is an error.</param>
    /// <exception cref="DirectoryNotFoundException">The folder or one of its parts is missing.</exception>
    /// <exception cref="InvalidDataException">An annotation is missing or malformed (file and problem named).</exception>
    public VocDataset(string root, string split = "trainval", IReadOnlyList<string>? classes = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        this.root = root;
        Classes = classes ?? VocClasses;
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"The VOC folder '{root}' does not exist.");
        string list = Path.Combine(root, "ImageSets", "Main", split + ".txt");
        if (!File.Exists(list))
            throw new DirectoryNotFoundException($"'{root}' is not a Pascal VOC folder: '{list}' is missing (a VOC folder holds Annotations/, JPEGImages/ and ImageSets/Main/<split>.txt).");
        ids = File.ReadAllLines(list).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        var index = Classes.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i);
        objects = ids.Select(id => ReadAnnotation(id, index)).ToArray();
    }

    /// <inheritdoc/>
    public int Count => ids.Length;

    /// <inheritdoc/>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>The image id of sample <paramref name="index"/> (e.g. 000005).</summary>
    public string Id(int index) => ids[index];

    /// <inheritdoc/>
    public IReadOnlyList<ObjectBox> GetObjects(int index) => objects[index];

    /// <inheritdoc/>
    public SKBitmap LoadImage(int index) => ImageDecoding.DecodeRgb(Path.Combine(root, "JPEGImages", ids[index] + ".jpg"));

    private ObjectBox[] ReadAnnotation(string id, Dictionary<string, int> index)
    {
        string path = Path.Combine(root, "Annotations", id + ".xml");
        if (!File.Exists(path)) throw new InvalidDataException($"The annotation '{path}' of image '{id}' is missing.");
        try
        {
            var doc = XDocument.Load(path);
            return doc.Root!.Elements("object").Select(o =>
            {
                string name = ((string?)o.Element("name") ?? throw new InvalidDataException("an object has no <name>")).Trim();
                if (!index.TryGetValue(name, out int label))
                    throw new InvalidDataException($"the class '{name}' is not one of the dataset's {index.Count} classes");
                var box = o.Element("bndbox") ?? throw new InvalidDataException($"the '{name}' object has no <bndbox>");
                float Coordinate(string n) => float.Parse((string?)box.Element(n) ?? throw new InvalidDataException($"<bndbox> has no <{n}>"), CultureInfo.InvariantCulture) - 1;
                bool difficult = ((string?)o.Element("difficult"))?.Trim() == "1";
                var b = new ObjectBox(label, Coordinate("xmin"), Coordinate("ymin"), Coordinate("xmax"), Coordinate("ymax"), difficult);
                if (b.X2 < b.X1 || b.Y2 < b.Y1) throw new InvalidDataException($"the '{name}' box has its max corner before its min corner");
                return b;
            }).ToArray();
        }
        catch (Exception e) when (e is System.Xml.XmlException or InvalidDataException or FormatException)
        {
            throw new InvalidDataException($"The annotation '{path}' cannot be read: {e.Message}.", e);
        }
    }
}
