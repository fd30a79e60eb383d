using SkiaSharp;

namespace MobileNeXt.Tests.Shared;

/// <summary>A temporary folder that deletes itself; images in it are encoded by the tests, never committed.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mnx-data-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

internal static class TestImages
{
    /// <summary>An opaque RGBA8888 bitmap filled with one colour.</summary>
    public static SKBitmap Constant(int width, int height, byte r, byte g, byte b)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        bitmap.Erase(new SKColor(r, g, b));
        return bitmap;
    }

    /// <summary>An opaque RGBA8888 bitmap whose pixel (x, y) is <paramref name="colour"/>(x, y).</summary>
    public static SKBitmap FromFunction(int width, int height, Func<int, int, SKColor> colour)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                bitmap.SetPixel(x, y, colour(x, y));
        return bitmap;
    }

    /// <summary>Encodes <paramref name="bitmap"/> to <paramref name="path"/> as PNG or JPEG, chosen by the extension.</summary>
    public static void Save(SKBitmap bitmap, string path)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        var format = System.IO.Path.GetExtension(path).ToLowerInvariant() is ".jpg" or ".jpeg" ? SKEncodedImageFormat.Jpeg : SKEncodedImageFormat.Png;
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, 95);
        File.WriteAllBytes(path, data.ToArray());
    }

    /// <summary>Writes a small constant-colour image file.</summary>
    public static void SaveConstant(string path, byte r = 120, byte g = 60, byte b = 200, int width = 40, int height = 30)
    {
        using var bitmap = Constant(width, height, r, g, b);
        Save(bitmap, path);
    }
}
