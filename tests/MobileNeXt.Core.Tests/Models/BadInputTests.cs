using MobileNeXt.Architecture;
using MobileNeXt.Interop;
using MobileNeXt.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Core.Tests.Models;

/// <summary>Bad input gets one clear .NET exception naming the problem, never a native crash.</summary>
public class BadInputTests
{
    private static readonly Lazy<MobileNeXtNet> Model = new(() => new MobileNeXtNet(new MobileNeXtOptions { Width = 0.35, NumClasses = 10 }));

    [Fact]
    public void Should_reject_a_wrong_channel_count()
    {
        using var x = randn(1, 1, 64, 64);
        var act = () => Model.Value.call(x);
        act.Should().Throw<ArgumentException>().WithMessage("Expected 3 input channels, got 1*");
    }

    [Fact]
    public void Should_reject_a_3d_tensor_and_say_how_to_batch_it()
    {
        using var x = randn(3, 64, 64);
        var act = () => Model.Value.call(x);
        act.Should().Throw<ArgumentException>().WithMessage("*4-D batch*3-D*unsqueeze(0)*");
    }

    [Fact]
    public void Should_reject_input_smaller_than_32()
    {
        using var x = randn(1, 3, 31, 64);
        var act = () => Model.Value.call(x);
        act.Should().Throw<ArgumentException>().WithMessage("*31×64*minimum 32×32*");
    }

    [Fact]
    public void Should_reject_integer_pixels()
    {
        using var x = zeros(1, 3, 64, 64, ScalarType.Byte);
        var act = () => Model.Value.call(x);
        act.Should().Throw<ArgumentException>().WithMessage("*floating-point*");
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.PositiveInfinity)]
    public void Should_reject_a_width_that_is_not_positive(double width)
    {
        var act = () => MobileNeXtPlan.Create(new MobileNeXtOptions { Width = width });
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*Width multiplier must be a positive*");
    }

    [Fact]
    public void Should_name_the_available_models_for_an_unknown_name()
    {
        var act = () => ModelRegistry.Create("mobilenext_1000");
        act.Should().Throw<KeyNotFoundException>().WithMessage("Unknown model 'mobilenext_1000'*Available: mobilenext_035*");
    }

    [Fact]
    public void Should_reject_a_truncated_checkpoint()
    {
        var dir = TestSupport.TempDir();
        var path = Path.Combine(dir, "truncated.pth");
        var bytes = File.ReadAllBytes(Path.Combine(TestSupport.ReferenceDir, "state_dict.pt"));
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        using var model = new MobileNeXtNet(new MobileNeXtOptions { Width = 0.5 });
        var act = () => ModelWeights.Load(model, path);
        act.Should().Throw<InvalidDataException>().WithMessage($"*{path}*truncated or corrupt*");
    }

    [Theory]
    [InlineData(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9 })]
    [InlineData(new byte[] { (byte)'h', (byte)'e', (byte)'l', (byte)'l', (byte)'o' })]
    [InlineData(new byte[] { 0x80, 0x02, 0x8a, 0x0a })] // a legacy (pre-1.6) torch.save header
    public void Should_reject_a_garbage_file(byte[] content)
    {
        var path = Path.Combine(TestSupport.TempDir(), "garbage.pt");
        File.WriteAllBytes(path, content);
        using var model = new MobileNeXtNet(new MobileNeXtOptions { Width = 0.5 });
        var act = () => ModelWeights.Load(model, path);
        act.Should().Throw<InvalidDataException>().WithMessage($"*{path}*");
    }

    [Fact]
    public void Should_reject_a_missing_file()
    {
        using var model = new MobileNeXtNet(new MobileNeXtOptions { Width = 0.5 });
        var act = () => ModelWeights.Load(model, "/nonexistent/weights.pth");
        act.Should().Throw<FileNotFoundException>().WithMessage("*does not exist*");
    }

    [Fact]
    public void Should_list_the_shapes_when_a_checkpoint_is_of_another_width()
    {
        using var model = new MobileNeXtNet(new MobileNeXtOptions { Width = 1.0 });
        var before = model.state_dict()["features.0.0.weight"].clone();
        var act = () => ModelWeights.Load(model, Path.Combine(TestSupport.ReferenceDir, "checkpoint.pth.tar"));
        var error = act.Should().Throw<WeightsMismatchException>().Which;
        error.Message.Should().Contain("features.0.0.weight: file [16, 3, 3, 3] vs model [32, 3, 3, 3]");
        error.ShapeMismatches.Should().NotBeEmpty();
        error.Missing.Should().BeEmpty();
        TestSupport.MaxAbsDiff(model.state_dict()["features.0.0.weight"], before).Should().Be(0f, "nothing is copied when the check fails");
    }

    [Fact]
    public void Should_list_missing_and_unexpected_keys()
    {
        using var model = new MobileNeXtNet(new MobileNeXtOptions { Width = 0.5 });
        var weights = ModelWeights.Read(Path.Combine(TestSupport.ReferenceDir, "state_dict.pt"));
        weights.Remove("classifier.1.bias", out var bias);
        weights["head.extra"] = bias!;
        var act = () => ModelWeights.Load(model, weights, "edited");
        var error = act.Should().Throw<WeightsMismatchException>().Which;
        error.Missing.Should().Equal("classifier.1.bias");
        error.Unexpected.Should().Equal("head.extra");
        error.Message.Should().Contain("missing from the file (1): classifier.1.bias").And.Contain("unexpected in the file (1): head.extra");
    }
}
