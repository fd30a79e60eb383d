using MobileNeXt.Architecture;
using MobileNeXt.Layers;
using MobileNeXt.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Core.Tests.Layers;

public class IdentityMultiplierTests
{
    [Theory]
    // Eq. 4: G[:, :⌊αC⌋] = φ(F) + F there, G = φ(F) elsewhere; α = 1/d gives C/d (architecture.md).
    [InlineData(1.0, 96)]
    [InlineData(0.5, 48)]
    [InlineData(1.0 / 3, 32)]
    [InlineData(1.0 / 6, 16)]
    [InlineData(0.3, 28)] // ⌊28.8⌋
    [InlineData(0.0, 0)]
    public void Should_add_the_input_to_exactly_the_first_floor_alpha_C_channels(double alpha, int channels)
    {
        var spec = new BlockSpec(96, 96, 16, 1, FirstDepthwise: true, LastDepthwise: true, HasShortcut: true);
        using var block = new SandglassBlock(spec, alpha);
        block.eval();
        block.ShortcutChannels.Should().Be(channels);
        using var _ = no_grad();
        using var x = randn(2, 96, 8, 8, generator: new Generator(7));
        using var withShortcut = block.call(x);
        block.SetIdentityMultiplier(0);
        using var residual = block.call(x);
        using var added = withShortcut - residual;
        if (channels > 0)
            TestSupport.MaxAbsDiff(added.narrow(1, 0, channels), x.narrow(1, 0, channels)).Should().BeLessThan(1e-5f);
        if (channels < 96)
            added.narrow(1, channels, 96 - channels).abs().max().item<float>().Should().Be(0f);
    }

    [Fact]
    public void Should_change_no_parameter_count()
    {
        long Count(double alpha)
        {
            using var m = new MobileNeXtNet(new MobileNeXtOptions { IdentityMultiplier = alpha });
            return m.parameters().Sum(p => p.numel());
        }
        Count(0.5).Should().Be(Count(1.0));
        Count(1.0 / 6).Should().Be(Count(1.0));
    }

    [Fact]
    public void Should_compute_160_of_960_channels_at_one_sixth()
    {
        // The released code's C // 6 for the 960 blocks; 1/6 is not exact in binary.
        IdentityShortcut.Channels(1.0 / 6, 960).Should().Be(160);
        IdentityShortcut.Channels(1.0 / 3, 576).Should().Be(192);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void Should_reject_alpha_outside_0_1(double alpha)
    {
        var act = () => new MobileNeXtNet(new MobileNeXtOptions { IdentityMultiplier = alpha });
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*[0, 1]*");
    }
}
