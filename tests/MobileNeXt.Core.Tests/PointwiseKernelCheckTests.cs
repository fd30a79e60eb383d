using MobileNeXt.Layers;
using MobileNeXt.Models;
using static TorchSharp.torch;

namespace MobileNeXt.Core.Tests;

/// <summary>
/// The checked pointwise path (<see cref="MemoryLayout.PointwiseConvolutions"/> = Checked): libtorch's 1×1 kernel is
/// used for a channels-last batch only where it agrees with the matrix product. A deliberately wrong kernel stands in for the
/// oneDNN kernel that was 8–38 % off on some machines. Alone: the kernel and the verdicts are process-wide.
/// </summary>
[Collection(ProcessHeapCollection.Name)]
public sealed class PointwiseKernelCheckTests : IDisposable
{
    private readonly PointwiseConvolutionPath _default = MemoryLayout.PointwiseConvolutions;
    private int _calls;

    public PointwiseKernelCheckTests()
    {
        PointwiseKernelCheck.Reset();
        MemoryLayout.PointwiseConvolutions = PointwiseConvolutionPath.Checked;
    }

    public void Dispose()
    {
        PointwiseKernelCheck.Kernel = PointwiseKernelCheck.DefaultKernel;
        PointwiseKernelCheck.Reset();
        MemoryLayout.PointwiseConvolutions = _default;
    }

    [Fact]
    public void Should_default_to_the_matrix_product_under_glibc_and_never_give_a_wrong_kernels_output()
    {
        MemoryLayout.PointwiseConvolutions = _default;
        _default.Should().Be(PointwiseConvolutionPath.Auto);
        PointwiseKernelCheck.Kernel = WrongForward;
        var (conv, x) = Layer();
        using var _ = no_grad();
        using var y = ConvLayers.Run(conv, x);
        if (TorchRuntime.LoadedAllocator() is not ("tcmalloc" or "jemalloc")) _calls.Should().Be(0, "without tcmalloc or jemalloc the default is the matrix product");
        else PointwiseKernelCheck.Counts.Wrong.Should().Be(1, "under tcmalloc the default checks the kernel, and refuses a wrong one");
        ErrorAgainstExact(conv, x, y).Should().BeLessThan(1e-5);
    }

    [Theory]
    [InlineData(PointwiseConvolutionPath.Auto, false, PointwiseConvolutionPath.MatrixProduct)]
    [InlineData(PointwiseConvolutionPath.Auto, true, PointwiseConvolutionPath.Checked)]
    [InlineData(PointwiseConvolutionPath.MatrixProduct, true, PointwiseConvolutionPath.MatrixProduct)]
    [InlineData(PointwiseConvolutionPath.OneDnn, false, PointwiseConvolutionPath.OneDnn)]
    [InlineData(PointwiseConvolutionPath.Checked, false, PointwiseConvolutionPath.Checked)]
    public void Should_take_the_checked_kernel_by_default_only_with_a_size_class_allocator(
        PointwiseConvolutionPath chosen, bool sizeClassAllocator, PointwiseConvolutionPath expected)
    {
        // train-step-pointwise: the checked kernel ran 1.38x the matrix product's speed under tcmalloc, 0.66x under glibc
        MemoryLayout.Resolve(chosen, sizeClassAllocator).Should().Be(expected);
    }

    // libtorch's conv2d, counted
    private Tensor Right(Tensor x, Tensor w, Tensor? b, long g)
    {
        _calls++;
        return PointwiseKernelCheck.DefaultKernel(x, w, b, g);
    }

    // 10 % too large: the size of the real kernel's errors
    private Tensor WrongForward(Tensor x, Tensor w, Tensor? b, long g)
    {
        _calls++;
        using var y = PointwiseKernelCheck.DefaultKernel(x, w, b, g);
        return y.mul(1.1);
    }

    // the right values, but every gradient through it 10 % too large: y + 0.1 (y − stop_gradient(y)) is y exactly
    private Tensor WrongBackward(Tensor x, Tensor w, Tensor? b, long g)
    {
        _calls++;
        using var y = PointwiseKernelCheck.DefaultKernel(x, w, b, g);
        using var detached = y.detach();
        using var zero = y - detached;
        using var scaled = zero.mul(0.1);
        return y + scaled;
    }

    private static (nn.Module<Tensor, Tensor> Conv, Tensor X) Layer(bool bias = false, long groups = 1)
    {
        manual_seed(3);
        var conv = nn.Conv2d(64, 48, 1, groups: groups, bias: bias);
        var x = MemoryLayout.ToChannelsLast(randn(4, 64, 16, 16)); // 1024 rows: the fewest that take the kernel
        return (conv, x);
    }

    // float64 NCHW conv of the same layer: the exact result
    private static double ErrorAgainstExact(nn.Module<Tensor, Tensor> conv, Tensor x, Tensor y)
    {
        var c = (TorchSharp.Modules.Conv2d)conv;
        using var exact = nn.functional.conv2d(x.to(ScalarType.Float64).contiguous(), c.weight!.to(ScalarType.Float64), c.bias?.to(ScalarType.Float64), groups: c.groups);
        return Float64Reference.RelativeError(y, exact);
    }

    [Fact]
    public void Should_use_a_kernel_found_right_and_check_each_shape_once()
    {
        PointwiseKernelCheck.Kernel = Right;
        var (conv, x) = Layer();
        using var _ = no_grad();
        using (var y = ConvLayers.Run(conv, x))
            ErrorAgainstExact(conv, x, y).Should().BeLessThan(1e-5);
        _calls.Should().Be(2, "one call to check it, one to compute");
        using (var again = ConvLayers.Run(conv, x)) { }
        _calls.Should().Be(3, "the verdict is kept");
        PointwiseKernelCheck.Counts.Should().Be((1, 0));
        using var other = MemoryLayout.ToChannelsLast(randn(8, 64, 16, 16));
        using (var y2 = ConvLayers.Run(conv, other)) { }
        _calls.Should().Be(5, "another batch size is checked on its own");
    }

    [Fact]
    public void Should_compute_layers_of_fewer_than_1024_rows_by_the_matrix_product_unchecked()
    {
        // bench pointwise-layers: at 256 and 512 rows the kernel was mostly slower than the matrix product
        PointwiseKernelCheck.Kernel = Right;
        var (conv, _) = Layer();
        using var _ = no_grad();
        using var small = MemoryLayout.ToChannelsLast(randn(4, 64, 16, 15)); // 960 rows
        using (var y = ConvLayers.Run(conv, small))
            ErrorAgainstExact(conv, small, y).Should().BeLessThan(1e-5);
        _calls.Should().Be(0);
        PointwiseKernelCheck.Counts.Should().Be((0, 0));
    }

    [Fact]
    public void Should_compute_the_matrix_product_where_the_kernel_is_wrong()
    {
        PointwiseKernelCheck.Kernel = WrongForward;
        var (conv, x) = Layer(bias: true);
        using var _ = no_grad();
        using var y = ConvLayers.Run(conv, x);
        _calls.Should().Be(1, "only the check called the wrong kernel");
        ErrorAgainstExact(conv, x, y).Should().BeLessThan(1e-5);
        PointwiseKernelCheck.Counts.Should().Be((1, 1));

        // unchecked, the same layer is 10 % off: the check is what keeps it right
        MemoryLayout.PointwiseConvolutions = PointwiseConvolutionPath.OneDnn;
        using var unchecked_ = ConvLayers.Run(conv, x);
        ErrorAgainstExact(conv, x, unchecked_).Should().BeApproximately(0.1, 1e-4);
    }

    [Fact]
    public void Should_check_the_gradients_when_training_and_keep_a_kernel_whose_values_alone_are_right_for_inference()
    {
        PointwiseKernelCheck.Kernel = WrongBackward;
        var (conv, x) = Layer(groups: 2);
        using (no_grad())
        using (var y = ConvLayers.Run(conv, x)) { }
        _calls.Should().Be(2, "the values are right, so inference uses it");

        var c = (TorchSharp.Modules.Conv2d)conv;
        using var leaf = x.detach().requires_grad_(true);
        using var y2 = ConvLayers.Run(conv, leaf);
        _calls.Should().Be(3, "training checks the gradients (one more call) and then computes the matrix product");
        using var upstream = ones_like(y2);
        y2.backward([upstream]);
        // d/dx of Σ conv(x) is Σ_o W[o, :]: every pixel's input gradient is the weight's column sums, per group
        using var w = c.weight!.detach().flatten(1);                        // 48 × 32
        using var perGroup = w.reshape(2, 24, 32).sum(1).flatten();          // 64: group 0's 32 inputs, then group 1's
        using var expected = perGroup.reshape(1, 64, 1, 1).expand(4, 64, 16, 16);
        using var diff = leaf.grad! - expected;
        (diff.abs().max().item<float>() / perGroup.abs().max().item<float>()).Should().BeLessThan(1e-5f, "not the kernel's 10 % larger gradient");
        PointwiseKernelCheck.Counts.Should().Be((1, 1));
    }

    [Fact]
    public void Should_keep_a_network_with_a_wrong_kernel_as_exact_as_the_default_layout()
    {
        PointwiseKernelCheck.Kernel = WrongForward;
        manual_seed(5);
        using var model = ModelRegistry.Create("mobilenext_035", new ModelCreateOptions { NumClasses = 10 });
        model.eval();
        using var _ = no_grad();
        using var x = randn(2, 3, 128, 128); // maps of 64² to 4²: layers above and below 1024 rows
        using var nchw = model.call(x);
        using var nhwc = model.call(MemoryLayout.ToChannelsLast(x));
        using var diff = nhwc - nchw;
        (diff.norm() / nchw.norm()).item<float>().Should().BeLessThan(1e-4f);
        PointwiseKernelCheck.Counts.Wrong.Should().BeGreaterThan(0);
        PointwiseKernelCheck.Counts.Wrong.Should().Be(PointwiseKernelCheck.Counts.Checked, "every pointwise shape was checked and refused");
    }
}
