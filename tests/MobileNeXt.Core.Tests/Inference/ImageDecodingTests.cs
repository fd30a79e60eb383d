using MobileNeXt.Inference;
using SkiaSharp;

namespace MobileNeXt.Core.Tests.Inference;

// Reference: Fixtures/jpeg/*.rgb, the bytes of PIL's Image.open(p).convert("RGB") for each JPEG there
// (written by Fixtures/jpeg/make_fixture.py with Debian's python3-pil, libjpeg-turbo 2.1.5), the loader torchvision's ImageFolder uses.
public class ImageDecodingTests
{
    private static string Jpeg(string name) => TestSupport.Fixture(Path.Combine("jpeg", name + ".jpg"));

    private static byte[] PilRgb(string name) => File.ReadAllBytes(TestSupport.Fixture(Path.Combine("jpeg", name + ".rgb")));

    /// <summary>The bitmap's R, G, B bytes row by row (PIL's tobytes() layout), and whether every alpha is 255.</summary>
    private static (byte[] Rgb, bool Opaque) RgbOf(SKBitmap bitmap)
    {
        var pixels = bitmap.GetPixelSpan();
        var rgb = new byte[3 * bitmap.Width * bitmap.Height];
        bool opaque = true;
        for (int y = 0, o = 0; y < bitmap.Height; y++)
            for (int x = 0; x < bitmap.Width; x++, o += 3)
            {
                int p = y * bitmap.RowBytes + 4 * x;
                rgb[o] = pixels[p];
                rgb[o + 1] = pixels[p + 1];
                rgb[o + 2] = pixels[p + 2];
                opaque &= pixels[p + 3] == 255;
            }
        return (rgb, opaque);
    }

    public class DecodeRgb
    {
        [Fact]
        public void Should_read_jpegs_with_turbojpeg_when_libturbojpeg0_is_installed() =>
            // build.sh's setup installs it; without it the other tests here would check the fallback only.
            ImageDecoding.JpegDecoder.Should().Be("TurboJPEG");

        [Theory]
        [InlineData("baseline420")]
        [InlineData("progressive420")]
        public void Should_give_the_pixels_pil_gives(string name)
        {
            using var bitmap = ImageDecoding.DecodeRgb(Jpeg(name));
            bitmap.Width.Should().Be(77);
            bitmap.Height.Should().Be(53);
            var (rgb, opaque) = RgbOf(bitmap);
            rgb.Should().Equal(PilRgb(name));
            opaque.Should().BeTrue();
        }

        [Fact]
        public void Should_give_the_same_pixels_from_memory_as_from_the_file()
        {
            using var bitmap = ImageDecoding.DecodeRgb(File.ReadAllBytes(Jpeg("baseline420")).AsSpan());
            RgbOf(bitmap).Rgb.Should().Equal(PilRgb("baseline420"));
        }

        [Fact]
        public void Should_say_a_truncated_jpeg_is_truncated()
        {
            var bytes = File.ReadAllBytes(Jpeg("baseline420"));
            var act = () => ImageDecoding.DecodeRgb(bytes.AsSpan(0, bytes.Length / 2));
            act.Should().Throw<InvalidDataException>().WithMessage("The image data could not be decoded (truncated or corrupt*");
        }

        [Fact]
        public void Should_say_an_empty_file_is_empty()
        {
            var act = () => ImageDecoding.DecodeRgb(ReadOnlySpan<byte>.Empty);
            act.Should().Throw<InvalidDataException>().WithMessage("The image data is empty; JPEG and PNG are supported.");
        }
    }

    public class SkiaFallback
    {
        [Fact]
        public void Should_not_use_a_turbojpeg_that_does_not_load() =>
            TurboJpeg.IsLoadable("libturbojpeg-not-installed.so.0").Should().BeFalse();

        [Fact]
        public void Should_give_the_pixels_pil_gives_for_a_baseline_jpeg()
        {
            using var bitmap = ImageDecoding.Decode(File.ReadAllBytes(Jpeg("baseline420")), "baseline420", useTurboJpeg: false);
            var (rgb, opaque) = RgbOf(bitmap);
            rgb.Should().Equal(PilRgb("baseline420"));
            opaque.Should().BeTrue();
        }

        [Fact]
        public void Should_say_a_truncated_jpeg_is_truncated()
        {
            var bytes = File.ReadAllBytes(Jpeg("baseline420"));
            var act = () => ImageDecoding.Decode(bytes.AsSpan(0, bytes.Length / 2), "half", useTurboJpeg: false);
            act.Should().Throw<InvalidDataException>().WithMessage("half could not be decoded (*truncated or corrupt)*");
        }
    }
}
