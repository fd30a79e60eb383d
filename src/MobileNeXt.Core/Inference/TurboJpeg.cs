using System.Runtime.InteropServices;
using SkiaSharp;

namespace MobileNeXt.Inference;

/// <summary>
/// JPEG decoding through the system's TurboJPEG library (Debian's <c>libturbojpeg0</c>, libjpeg-turbo with SIMD).
/// SkiaSharp's bundled libjpeg-turbo is built without x86 SIMD and decodes about 2–3× slower; Pillow links the same
/// libjpeg-turbo as <c>libturbojpeg0</c>, so with the accurate integer IDCT and fancy upsampling (flags 0, TurboJPEG's
/// and PIL's defaults) the pixels are PIL's.
/// </summary>
internal static class TurboJpeg
{
    internal const string LibraryName = "libturbojpeg.so.0";

    private const int PixelFormatRgba = 7; // TJPF_RGBA: the fourth byte is written as 255, so the bitmap is opaque as decoded
    private const int ColourspaceCmyk = 3, ColourspaceYcck = 4;
    private const int ErrorWarning = 0; // TJERR_WARNING: e.g. a truncated file, which libjpeg pads with grey

    private static readonly Lazy<bool> Library = new(() => IsLoadable(LibraryName));

    /// <summary>Whether the library loads in this process (false where it is not installed, or not on Linux).</summary>
    internal static bool IsAvailable => Library.Value;

    /// <summary>Whether a library of that name loads; lets a test name a missing one to check the fallback.</summary>
    internal static bool IsLoadable(string libraryName)
    {
        if (!NativeLibrary.TryLoad(libraryName, out var handle))
            return false;
        // The three entry points the decoder calls: a library that lacks one is not used at all.
        bool complete = NativeLibrary.TryGetExport(handle, "tjInitDecompress", out _)
            && NativeLibrary.TryGetExport(handle, "tjDecompressHeader3", out _)
            && NativeLibrary.TryGetExport(handle, "tjDecompress2", out _);
        return complete;
    }

    /// <summary>Whether the bytes start with a JPEG's start-of-image marker and a further marker (FF D8 FF).</summary>
    internal static bool IsJpeg(ReadOnlySpan<byte> encoded) =>
        encoded.Length >= 3 && encoded[0] == 0xFF && encoded[1] == 0xD8 && encoded[2] == 0xFF;

    /// <summary>
    /// Decodes <paramref name="encoded"/> to an opaque RGBA8888 bitmap, or returns null when TurboJPEG cannot give RGB
    /// for it (CMYK and YCCK files, which Skia converts), so the caller decodes it another way.
    /// </summary>
    /// <exception cref="InvalidDataException">The data is corrupt or truncated.</exception>
    internal static SKBitmap? TryDecode(ReadOnlySpan<byte> encoded, string source)
    {
        var handle = tjInitDecompress();
        if (handle == IntPtr.Zero)
            throw new OutOfMemoryException("TurboJPEG could not allocate a decompressor.");
        try
        {
            var size = new CULong((nuint)encoded.Length);
            ref byte data = ref MemoryMarshal.GetReference(encoded);
            if (tjDecompressHeader3(handle, ref data, size, out int width, out int height, out _, out int colourspace) != 0)
                throw Corrupt(handle, source);
            if (colourspace is ColourspaceCmyk or ColourspaceYcck)
                return null;
            var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
            ref byte pixels = ref MemoryMarshal.GetReference(bitmap.GetPixelSpan());
            if (tjDecompress2(handle, ref data, size, ref pixels, width, bitmap.RowBytes, height, PixelFormatRgba, 0) != 0)
            {
                var error = Corrupt(handle, source);
                bitmap.Dispose();
                throw error;
            }
            return bitmap;
        }
        finally
        {
            tjDestroy(handle);
        }
    }

    // A warning (a truncated file, a bad Huffman code) still yields an image, but PIL refuses such files too, and the
    // Skia path reports them as incomplete: one rule for both decoders.
    private static InvalidDataException Corrupt(IntPtr handle, string source)
    {
        string kind = tjGetErrorCode(handle) == ErrorWarning ? "truncated or corrupt" : "not a decodable JPEG";
        return new InvalidDataException($"{source} could not be decoded ({kind}: {Marshal.PtrToStringAnsi(tjGetErrorStr2(handle))}).");
    }

    [DllImport(LibraryName)] private static extern IntPtr tjInitDecompress();
    [DllImport(LibraryName)] private static extern int tjDestroy(IntPtr handle);
    [DllImport(LibraryName)] private static extern int tjGetErrorCode(IntPtr handle);
    [DllImport(LibraryName)] private static extern IntPtr tjGetErrorStr2(IntPtr handle);

    [DllImport(LibraryName)]
    private static extern int tjDecompressHeader3(IntPtr handle, ref byte jpeg, CULong size,
        out int width, out int height, out int subsampling, out int colourspace);

    [DllImport(LibraryName)]
    private static extern int tjDecompress2(IntPtr handle, ref byte jpeg, CULong size,
        ref byte destination, int width, int pitch, int height, int pixelFormat, int flags);
}
