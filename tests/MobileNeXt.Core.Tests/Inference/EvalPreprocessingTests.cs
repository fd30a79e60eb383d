using MobileNeXt.Inference;
using MobileNeXt.Tests.Shared;
using SkiaSharp;
using TorchSharp;

namespace MobileNeXt.Core.Tests.Inference;

// Reference: torchvision Resize(256) → CenterCrop(224) → ToTensor() → Normalize(ImageNet mean, std).
public class EvalPreprocessingTests
{
    [Theory]
    // Shorter side → 256, longer → int(256 · long / short): int(256·500/375) = int(341.33) = 341.
    [InlineData(500, 375, 341, 256)]
    [InlineData(375, 500, 256, 341)]
    [InlineData(300, 300, 256, 256)]
    // int(256·1000/999) = int(256.256) = 256: truncation, not rounding.
    [InlineData(1000, 999, 256, 256)]
    public void Should_resize_the_shorter_side_as_torchvision_does(int width, int height, int newWidth, int newHeight) =>
        EvalPreprocessing.ImageNet.ResizedSize(width, height).Should().Be((newWidth, newHeight));

    [Fact]
    public void Should_centre_the_crop_with_pythons_half_to_even_rounding()
    {
        // center_crop: top = int(round((256 − 224) / 2)) = 16, left = int(round((341 − 224) / 2)) = round(58.5) = 58 (half to even).
        EvalPreprocessing.ImageNet.CentreCrop(341, 256).Should().Be(new CropBox(16, 58, 224, 224));
        // round(59.5) = 60.
        EvalPreprocessing.ImageNet.CentreCrop(343, 256).Should().Be(new CropBox(16, 60, 224, 224));
    }

    [Fact]
    public void Should_give_a_1x3x224x224_float_tensor_equal_to_the_normalised_colour_of_a_constant_image()
    {
        // A constant image is constant after any resampling; the result is (v / 255 − mean[c]) / std[c] everywhere.
        using var image = TestImages.Constant(500, 375, 200, 100, 50);
        using var x = EvalPreprocessing.ImageNet.ToTensor(image);
        x.shape.Should().Equal(1, 3, 224, 224);
        x.dtype.Should().Be(torch.ScalarType.Float32);
        double[] expected = [(200 / 255.0 - 0.485) / 0.229, (100 / 255.0 - 0.456) / 0.224, (50 / 255.0 - 0.406) / 0.225];
        for (int c = 0; c < 3; c++)
        {
            using var channel = x[0, c];
            channel.min().item<float>().Should().BeApproximately((float)expected[c], 1e-5f);
            channel.max().item<float>().Should().BeApproximately((float)expected[c], 1e-5f);
        }
    }

    [Fact]
    public void Should_read_a_file_to_the_same_tensor_as_the_decoded_bitmap()
    {
        using var folder = new TempFolder();
        using var image = TestImages.FromFunction(320, 260, (x, y) => new SKColor((byte)x, (byte)y, (byte)(x ^ y)));
        var path = folder.Combine("gradient.png"); // PNG is lossless, so the file decodes to the same pixels
        TestImages.Save(image, path);
        using var fromFile = EvalPreprocessing.ImageNet.LoadTensor(path);
        using var fromBitmap = EvalPreprocessing.ImageNet.ToTensor(image);
        fromFile.equal(fromBitmap).all().item<bool>().Should().BeTrue();
    }

    [Fact]
    public void Should_stack_several_images_into_one_batch_in_order()
    {
        using var red = TestImages.Constant(300, 300, 255, 0, 0);
        using var blue = TestImages.Constant(260, 400, 0, 0, 255);
        var pre = new EvalPreprocessing(resizeSize: 128, cropSize: 112);
        using var batch = pre.ToBatch([red, blue]);
        batch.shape.Should().Equal(2, 3, 112, 112);
        // Red channel of image 0: (1 − 0.485) / 0.229; of image 1: (0 − 0.485) / 0.229.
        batch[0, 0, 50, 50].item<float>().Should().BeApproximately((1 - 0.485f) / 0.229f, 1e-5f);
        batch[1, 0, 50, 50].item<float>().Should().BeApproximately(-0.485f / 0.229f, 1e-5f);
    }

    [Theory]
    [InlineData(ResamplingMode.Bilinear)]
    [InlineData(ResamplingMode.Bicubic)]
    public void Should_average_fine_detail_when_reducing_tenfold_instead_of_aliasing(ResamplingMode mode)
    {
        // Vertical stripes two pixels black, two white, reduced 1000 → 100. The mean is 127.5; a filter that samples
        // only near every tenth pixel would land on whole stripes and return 0s and 255s.
        using var stripes = TestImages.FromFunction(1000, 1000, (x, _) => x % 4 < 2 ? SKColors.Black : SKColors.White);
        var pre = new EvalPreprocessing(resizeSize: 100, cropSize: 100, resampling: mode, normalization: NormalizationStatistics.Identity);
        var output = new float[3 * 100 * 100];
        pre.Apply(stripes, output);
        output.Should().OnlyContain(v => v >= 120 / 255f && v <= 135 / 255f);
    }

    [Fact]
    public void Should_reject_a_crop_larger_than_the_resize()
    {
        var act = () => new EvalPreprocessing(resizeSize: 200, cropSize: 224);
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*at least the crop size*256 → 224*");
    }
}
