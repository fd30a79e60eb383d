using SkiaSharp;

namespace MobileNeXt.Inference;

/// <summary>Decodes image files and pixel buffers to the one bitmap format the transforms read: opaque RGBA8888.</summary>
public static class ImageDecoding
{
    /// <summary>The file extensions read as images (compared case-insensitively), as torchvision's ImageFolder reads them minus the rarer formats.</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".jpg", ".jpeg", ".png"];

    /// <summary>Whether <paramref name="path"/> has one of <see cref="Extensions"/>.</summary>
    public static bool HasImageExtension(string path)
    {
        var ext = Path.GetExtension(path);
        foreach (var e in Extensions)
            if (string.Equals(ext, e, StringComparison.OrdinalIgnoreCase))
                return true;
        return false;
    }

    /// <summary>
    /// Which decoder reads JPEG files in this process: <c>"TurboJPEG"</c> (the system's SIMD libjpeg-turbo,
    /// <c>libturbojpeg.so.0</c>; Debian's <c>libturbojpeg0</c>) when it loads, else <c>"SkiaSharp"</c> (its bundled
    /// libjpeg-turbo, without x86 SIMD: about 2× slower, same pixels for baseline files). PNG always goes through SkiaSharp.
    /// </summary>
    public static string JpegDecoder => TurboJpeg.IsAvailable ? "TurboJPEG" : "SkiaSharp";

    /// <summary>
    /// Decodes <paramref name="path"/> to an opaque RGBA8888 bitmap. Alpha is dropped, not composited, and no
    /// colour management or EXIF rotation is applied: the pixels PIL's <c>Image.open(p).convert("RGB")</c> gives,
    /// which is what torchvision's ImageFolder loader feeds its transforms.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a decodable image, or is truncated.</exception>
    public static SKBitmap DecodeRgb(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Image file '{path}' does not exist.", path);
        return Decode(File.ReadAllBytes(path), $"'{path}'", TurboJpeg.IsAvailable);
    }

    /// <summary>Decodes an encoded image (JPEG, PNG, …) held in memory; see <see cref="DecodeRgb(string)"/>.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a decodable image, or are truncated.</exception>
    public static SKBitmap DecodeRgb(ReadOnlySpan<byte> encoded) => Decode(encoded, "The image data", TurboJpeg.IsAvailable);

    /// <summary>Reads <paramref name="stream"/> to its end and decodes it; see <see cref="DecodeRgb(string)"/>.</summary>
    /// <exception cref="InvalidDataException">The stream does not hold a decodable image.</exception>
    public static SKBitmap DecodeRgb(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return DecodeRgb(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    }

    /// <summary>Decodes with TurboJPEG when <paramref name="useTurboJpeg"/> is set and the data is a JPEG it can give as RGB, else with Skia.</summary>
    internal static SKBitmap Decode(ReadOnlySpan<byte> encoded, string source, bool useTurboJpeg)
    {
        if (encoded.IsEmpty)
            throw new InvalidDataException($"{source} is empty; JPEG and PNG are supported.");
        if (useTurboJpeg && TurboJpeg.IsJpeg(encoded) && TurboJpeg.TryDecode(encoded, source) is { } bitmap)
            return bitmap;
        using var data = SKData.CreateCopy(encoded);
        using var stream = new SKMemoryStream(data);
        using var codec = SKCodec.Create(stream, out var createResult);
        return DecodeWithSkia(codec, createResult, source);
    }

    private static SKBitmap DecodeWithSkia(SKCodec? codec, SKCodecResult createResult, string source)
    {
        if (codec is null)
            throw new InvalidDataException($"{source} is not a readable image ({createResult}); JPEG and PNG are supported.");
        // Decode as unpremultiplied RGBA into an opaque bitmap's memory (same layout), then force alpha to 255.
        var decodeInfo = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul, codec.Info.ColorSpace);
        var bitmap = new SKBitmap(decodeInfo.WithAlphaType(SKAlphaType.Opaque));
        var result = bitmap.RowBytes == decodeInfo.RowBytes ? codec.GetPixels(decodeInfo, bitmap.GetPixels()) : SKCodecResult.InternalError;
        if (result != SKCodecResult.Success)
        {
            bitmap.Dispose();
            throw new InvalidDataException($"{source} could not be decoded ({result}; truncated or corrupt).");
        }
        MakeOpaque(bitmap);
        return bitmap;
    }

    /// <summary>An opaque RGBA8888 bitmap from 8-bit greyscale pixels (row-major), each grey value copied to R, G and B.</summary>
    public static SKBitmap FromGrey(ReadOnlySpan<byte> grey, int width, int height)
    {
        if (grey.Length != width * height)
            throw new ArgumentException($"Expected {width}×{height} = {width * height} grey values, got {grey.Length}.", nameof(grey));
        return FromPlanes(grey, grey, grey, width, height);
    }

    /// <summary>
    /// An opaque RGBA8888 bitmap from three row-major 8-bit planes (CIFAR-10's binary records store R, G, B this way).
    /// </summary>
    /// <exception cref="ArgumentException">A plane does not hold width × height values.</exception>
    public static SKBitmap FromPlanes(ReadOnlySpan<byte> red, ReadOnlySpan<byte> green, ReadOnlySpan<byte> blue, int width, int height)
    {
        int n = width * height;
        if (red.Length != n || green.Length != n || blue.Length != n)
            throw new ArgumentException($"Expected three planes of {width}×{height} = {n} values, got {red.Length}, {green.Length}, {blue.Length}.");
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var pixels = bitmap.GetPixelSpan();
        int rowBytes = bitmap.RowBytes;
        for (int y = 0; y < height; y++)
        {
            var row = pixels.Slice(y * rowBytes, width * 4);
            for (int x = 0; x < width; x++)
            {
                int i = y * width + x;
                row[4 * x] = red[i];
                row[4 * x + 1] = green[i];
                row[4 * x + 2] = blue[i];
                row[4 * x + 3] = 255;
            }
        }
        return bitmap;
    }

    /// <summary>Sets alpha to 255, so later resampling never weights colours by alpha.</summary>
    internal static void MakeOpaque(SKBitmap bitmap)
    {
        var pixels = bitmap.GetPixelSpan();
        int rowBytes = bitmap.RowBytes, width = bitmap.Width;
        for (int y = 0; y < bitmap.Height; y++)
        {
            var row = pixels.Slice(y * rowBytes, width * 4);
            for (int x = 3; x < row.Length; x += 4)
                row[x] = 255;
        }
    }
}
