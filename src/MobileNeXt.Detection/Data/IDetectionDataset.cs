using SkiaSharp;

namespace MobileNeXt.Detection.Data;

/// <summary>An object in an image: class index, corners in pixels (x2, y2 exclusive-continuous), and whether it is difficult (VOC) or a crowd region (COCO), which evaluation ignores and training skips.</summary>
public sealed record ObjectBox(int Label, float X1, float Y1, float X2, float Y2, bool Difficult = false)
{
    /// <summary>Width in pixels.</summary>
    public float Width => X2 - X1;

    /// <summary>Height in pixels.</summary>
    public float Height => Y2 - Y1;
}

/// <summary>
/// A detection dataset: images with their objects. What the VOC and COCO readers and the built-in scenes expose.
/// Implementations must allow <see cref="LoadImage"/> from several threads at once.
/// </summary>
public interface IDetectionDataset
{
    /// <summary>Number of images.</summary>
    int Count { get; }

    /// <summary>Class names; <see cref="ObjectBox.Label"/> indexes this list (no background entry).</summary>
    IReadOnlyList<string> Classes { get; }

    /// <summary>The objects of image <paramref name="index"/>, without decoding it.</summary>
    IReadOnlyList<ObjectBox> GetObjects(int index);

    /// <summary>Decodes image <paramref name="index"/> to an RGBA8888 bitmap the caller disposes.</summary>
    SKBitmap LoadImage(int index);
}
