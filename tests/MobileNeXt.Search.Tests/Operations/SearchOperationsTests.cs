using MobileNeXt.Search.Operations;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Search.Tests.Operations;

public class SearchOperationsTests
{
    private const int C = 12, H = 8;

    /// <summary>
    /// Weights of each operation on C channels, written from DARTS's operations.py layer list and the two papers' blocks.
    /// A BatchNorm over n channels adds 2n when affine. The block operators keep Core's affine BatchNorms always.
    /// </summary>
    private static long ExpectedParameters(string op, int c, int stride, bool affine)
    {
        long bn(long n) => affine ? 2 * n : 0;
        long unit(int k) => c * k * k + c * c + bn(c); // ReLU, dw k×k (C·k²), pw (C²), BN(C)
        int h = Math.Max(1, (int)Math.Round(c / 6.0, MidpointRounding.ToEven)), e = 6 * c;
        return op switch
        {
            "none" or "max_pool_3x3" or "avg_pool_3x3" => 0,
            "skip_connect" => stride == 1 ? 0 : 2 * c * (c / 2) + bn(c), // two 1×1 convs to C/2, BN(C)
            "sep_conv_3x3" => 2 * unit(3),
            "sep_conv_5x5" => 2 * unit(5),
            "dil_conv_3x3" => unit(3),
            "dil_conv_5x5" => unit(5),
            // dw 3×3, pw C→C/6, pw C/6→C, dw 3×3, each with an affine BN (Table 1)
            "sandglass_3x3" => 9 * c + c * h + h * c + 9 * c + 2 * (c + h + c + c),
            // pw C→6C, dw 3×3 on 6C, pw 6C→C, each with an affine BN (MobileNetV2 Table 1)
            "inv_res_3x3" => c * e + 9 * e + e * c + 2 * (e + e + c),
            _ => throw new ArgumentException(op),
        };
    }

    public static TheoryData<string, int, bool> Cases()
    {
        var data = new TheoryData<string, int, bool>();
        foreach (var op in SearchOperations.Known)
            foreach (int stride in new[] { 1, 2 })
                foreach (bool affine in new[] { false, true })
                    data.Add(op, stride, affine);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Should_map_C_channels_to_C_at_the_stride_with_the_closed_form_parameter_count(string name, int stride, bool affine)
    {
        using var op = SearchOperations.Create(name, C, stride, affine);
        op.parameters().Sum(p => p.numel()).Should().Be(ExpectedParameters(name, C, stride, affine));
        using var x = randn(2, C, H, H, generator: new Generator(3));
        using var y = op.call(x);
        y.shape.Should().Equal(2, C, H / stride, H / stride);
    }

    [Fact]
    public void Should_give_exact_zeros_for_none_and_the_input_for_a_stride_1_skip()
    {
        using var x = randn(2, C, H, H, generator: new Generator(5));
        using var zero = SearchOperations.Create(Primitives.None, C, 2, affine: false);
        using var z = zero.call(x);
        z.abs().max().item<float>().Should().Be(0f);
        using var skip = SearchOperations.Create(Primitives.SkipConnect, C, 1, affine: false);
        using var s = skip.call(x);
        s.eq(x).all().item<bool>().Should().BeTrue();
    }

    [Fact]
    public void Should_average_only_real_pixels_at_the_border()
    {
        // count_include_pad=False: the corner's 3×3 window holds 4 real pixels, so a constant image stays constant.
        using var pool = SearchOperations.Create(Primitives.AvgPool3x3, 1, 1, affine: false);
        using var x = full(1, 1, 4, 4, 2f);
        using var y = pool.call(x);
        y.eq(2f).all().item<bool>().Should().BeTrue();
    }

    [Fact]
    public void Should_reduce_with_both_pixel_phases()
    {
        // conv_2 sees the input shifted by one pixel: an image non-zero only at odd rows and columns reaches conv_2 only.
        using var reduce = new FactorizedReduce(1, 2, affine: false);
        reduce.eval();
        using (no_grad())
            foreach (var p in reduce.parameters()) p.fill_(1f);
        using var x = zeros(1, 1, 4, 4);
        using (no_grad()) x[0, 0, 1, 1] = tensor(5f);
        using var y = reduce.call(x);
        // eval BN with running mean 0, var 1: y = v / sqrt(1 + 1e-5)
        y[0, 0].abs().max().item<float>().Should().Be(0f);
        y[0, 1, 0, 0].item<float>().Should().BeApproximately(5f / MathF.Sqrt(1 + 1e-5f), 1e-5f);
    }

    [Fact]
    public void Should_refuse_an_unknown_operation_by_listing_the_known_ones()
    {
        var act = () => SearchOperations.Create("conv_7x1_1x7", C, 1, affine: false);
        act.Should().Throw<ArgumentException>().WithMessage("*conv_7x1_1x7*sep_conv_3x3*");
    }

    [Fact]
    public void Should_refuse_an_odd_input_to_a_factorized_reduce()
    {
        using var reduce = new FactorizedReduce(C, C, affine: false);
        using var x = randn(1, C, 7, 7);
        var act = () => reduce.call(x);
        act.Should().Throw<ArgumentException>().WithMessage("*even height and width*7×7*");
    }
}
