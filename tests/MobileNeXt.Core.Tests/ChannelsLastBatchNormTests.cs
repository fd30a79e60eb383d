using MobileNeXt.Interop;
using TorchSharp;
using MobileNeXt.Layers;
using MobileNeXt.Models;
using static TorchSharp.torch;

namespace MobileNeXt.Core.Tests;

/// <summary>
/// This library's training-mode BatchNorm (+ ReLU6) kernel for channels-last batches (<see cref="ChannelsLastBatchNorm"/>),
/// against libtorch's float64 BatchNorm of the same values: the exact result to float32's precision. Alone: the path and
/// thread count are process-wide.
/// </summary>
[Collection(ProcessHeapCollection.Name)]
public sealed class ChannelsLastBatchNormTests : IDisposable
{
    private readonly BatchNormPath _path = MemoryLayout.BatchNorm;
    private readonly int _threads = get_num_threads();

    public void Dispose()
    {
        MemoryLayout.BatchNorm = _path;
        set_num_threads(_threads);
    }

    [Theory]
    [InlineData(BatchNormPath.Auto, BatchNormPath.Fused)]
    [InlineData(BatchNormPath.LibTorch, BatchNormPath.LibTorch)]
    [InlineData(BatchNormPath.Fused, BatchNormPath.Fused)]
    public void Should_take_this_librarys_kernel_by_default(BatchNormPath chosen, BatchNormPath expected)
    {
        // batchnorm-step: a mobilenext_100 224² step 1.07x as fast with it at one thread, 1.02-1.15x at two
        MemoryLayout.Resolve(chosen).Should().Be(expected);
    }

    /// <summary>
    /// Output, input gradient, weight gradient and bias gradient within 5e-7 relative L2 of float64 — float32's own
    /// rounding (libtorch's NCHW kernel: 5e-8 to 2.5e-7 on these shapes; its channels-last kernel at one thread: up to 6e-6)
    /// — with and without the ReLU6, at one and two threads, for a channel count that is not a multiple of the vector width.
    /// </summary>
    [Theory]
    [InlineData(8, 32, 48, 48, false, 1)]
    [InlineData(8, 32, 48, 48, true, 1)]
    [InlineData(8, 32, 48, 48, true, 2)]
    [InlineData(4, 13, 5, 7, true, 1)]
    [InlineData(4, 13, 5, 7, false, 2)]
    [InlineData(8, 1280, 3, 3, true, 2)]
    [InlineData(4, 448, 2, 2, true, 1)]
    [InlineData(4, 448, 2, 2, false, 1)]
    public void Should_compute_batchnorm_and_relu6_as_float64_does_to_float32_precision(long n, long c, long h, long w, bool relu6, int threads)
    {
        set_num_threads(threads);
        manual_seed(1);
        using var scope = NewDisposeScope();
        var x = randn(n, c, h, w) * 2 + 3; // a mean larger than the spread, as after a conv
        var weight = rand(c) + 0.5;
        var bias = randn(c);
        var upstream = randn(n, c, h, w);

        var x64 = x.to(ScalarType.Float64).requires_grad_(true);
        var w64 = weight.to(ScalarType.Float64).requires_grad_(true);
        var b64 = bias.to(ScalarType.Float64).requires_grad_(true);
        var y64 = nn.functional.batch_norm(x64, null, null, w64, b64, training: true, eps: 1e-5);
        if (relu6) y64 = nn.functional.relu6(y64);
        var exact = autograd.grad([y64], [x64, w64, b64], [upstream.to(ScalarType.Float64)]);

        var xi = MemoryLayout.ToChannelsLast(x).requires_grad_(true);
        var wi = weight.clone().requires_grad_(true);
        var bi = bias.clone().requires_grad_(true);
        var y = ChannelsLastBatchNorm.Forward(xi, wi, bi, zeros(c), ones(c), 0.1, 1e-5, relu6);
        MemoryLayout.IsChannelsLast(y).Should().BeTrue();
        var grads = autograd.grad([y], [xi, wi, bi], [MemoryLayout.ToChannelsLast(upstream)]);

        Error(y, y64).Should().BeLessThan(5e-7, "output");
        Error(grads[0], exact[0]).Should().BeLessThan(5e-7, "input gradient");
        Error(grads[1], exact[1]).Should().BeLessThan(5e-7, "weight gradient");
        Error(grads[2], exact[2]).Should().BeLessThan(5e-7, "bias gradient");
    }

    [Fact]
    public void Should_let_a_residual_add_change_its_output_in_place()
    {
        // A block ending in BatchNorm + ReLU6 before its shortcut (IdentityShortcut.AddInPlace) adds to the output in
        // place; the backward must not need the output as it was (libtorch refuses a saved tensor changed in place).
        set_num_threads(1);
        manual_seed(3);
        using var scope = NewDisposeScope();
        var x = randn(4, 24, 3, 3);
        var shortcut = randn(4, 24, 3, 3);
        var upstream = randn(4, 24, 3, 3);
        var x64 = x.to(ScalarType.Float64).requires_grad_(true);
        var y64 = nn.functional.relu6(nn.functional.batch_norm(x64, null, null, ones(24, dtype: ScalarType.Float64), zeros(24, dtype: ScalarType.Float64), training: true));
        var exact = autograd.grad([y64 + shortcut.to(ScalarType.Float64)], [x64], [upstream.to(ScalarType.Float64)])[0];

        var xi = MemoryLayout.ToChannelsLast(x).requires_grad_(true);
        var y = ChannelsLastBatchNorm.Forward(xi, ones(24), zeros(24), zeros(24), ones(24), 0.1, 1e-5, relu6: true);
        y.add_(MemoryLayout.ToChannelsLast(shortcut));
        var grad = autograd.grad([y], [xi], [MemoryLayout.ToChannelsLast(upstream)])[0];
        Error(grad, exact).Should().BeLessThan(5e-7);
    }

    /// <summary>
    /// What a training step holds with this kernel, against libtorch's BatchNorm on the same graph (x·w₁ → BatchNorm →
    /// ·w₂ → sum, the intermediate handles disposed as <see cref="ConvLayers.Run(nn.Module{Tensor, Tensor}, Tensor)"/>
    /// disposes them), in glibc's count of bytes in use, in units of one activation S, the least of three steps each
    /// after a full collection: after the forward pass no more than libtorch's (TorchSharp's custom function kept an
    /// empty tensor the size of the output, +1 S), and after the backward pass no more than one S above it, the input
    /// gradient kept until the next call (the kernel's storage handles and the returned gradients' handles kept the
    /// input, the incoming gradient and the input gradient, +3 S).
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Should_hold_no_more_memory_than_libtorchs_batchnorm_through_a_step(int threads)
    {
        if (!OperatingSystem.IsLinux() || TorchRuntime.LoadedAllocator() is not null) return; // glibc's own count
        set_num_threads(threads);
        manual_seed(5);
        const long N = 8, C = 64, H = 64, W = 64;
        const double S = N * C * H * W * sizeof(float);
        using var outer = NewDisposeScope();
        var x = MemoryLayout.ToChannelsLast(randn(N, C, H, W));
        var w1 = (rand(1, C, 1, 1) + 0.5).requires_grad_(true);
        var w2 = randn(1, C, 1, 1).requires_grad_(true);
        var norm = new SafeBatchNorm2d(C);
        norm.train();
        (double Forward, double Backward) Step(BatchNormPath path)
        {
            MemoryLayout.BatchNorm = path;
            ChannelsLastBatchNorm.DisposeReturned(); // the last step's kept gradient: not counted in this one's baseline
            GC.Collect();
            GC.WaitForPendingFinalizers(); // no finaliser frees an earlier test's tensor mid-step
            using var scope = NewDisposeScope(); // a training step's
            long before = ProcessHeap.InUse();
            var a = x * w1;
            var b = norm.call(a);
            a.Dispose();
            var c = b * w2;
            b.Dispose();
            var loss = c.sum();
            c.Dispose();
            double forward = (ProcessHeap.InUse() - before) / S;
            loss.backward();
            double backward = (ProcessHeap.InUse() - before) / S;
            w1.grad!.zero_();
            w2.grad!.zero_();
            return (forward, backward);
        }
        Step(BatchNormPath.LibTorch);
        Step(BatchNormPath.Fused);
        var libtorch = Enumerable.Range(0, 3).Select(_ => Step(BatchNormPath.LibTorch)).ToList();
        var fused = Enumerable.Range(0, 3).Select(_ => Step(BatchNormPath.Fused)).ToList();
        double libtorchForward = libtorch.Min(r => r.Forward), libtorchBackward = libtorch.Min(r => r.Backward);
        fused.Min(r => r.Forward).Should().BeLessThan(libtorchForward + 0.25, "after forward (libtorch's: {0:0.00} S)", libtorchForward);
        fused.Min(r => r.Backward).Should().BeLessThan(libtorchBackward + 1 + 0.25,
            "after backward: the input gradient kept until the next call, nothing more (libtorch's: {0:0.00} S)", libtorchBackward);
    }

    /// <summary>
    /// A second backward pass through a kept graph (<c>retain_graph</c>) gives the first one's gradients: the saved input
    /// is freed only after a backward pass that frees its graph.
    /// </summary>
    [Fact]
    public void Should_backward_twice_through_a_kept_graph()
    {
        manual_seed(6);
        using var scope = NewDisposeScope();
        var leaf = randn(4, 24, 5, 5).requires_grad_(true);
        var x = MemoryLayout.ToChannelsLast(leaf * 2); // not a leaf: saved, and freed after a backward pass that frees the graph
        var upstream = MemoryLayout.ToChannelsLast(randn(4, 24, 5, 5));
        var y = ChannelsLastBatchNorm.Forward(x, rand(24) + 0.5, randn(24), zeros(24), ones(24), 0.1, 1e-5, relu6: true);
        var loss = (y * upstream).sum();
        loss.backward(retain_graph: true);
        var first = leaf.grad!.clone();
        first.abs().sum().item<float>().Should().BeGreaterThan(0);
        leaf.grad!.zero_();
        loss.backward();
        (leaf.grad! - first).abs().max().item<float>().Should().Be(0, "the same saved input and the same arithmetic");
    }

    [Fact]
    public void Should_update_the_running_statistics_and_counter_as_pytorch_does()
    {
        // PyTorch: running_mean ← (1 − m)·running_mean + m·mean, running_var ← (1 − m)·running_var + m·var·M/(M − 1)
        MemoryLayout.BatchNorm = BatchNormPath.Fused;
        manual_seed(2);
        using var scope = NewDisposeScope();
        var x = randn(6, 24, 10, 10) * 3 + 1;
        var ours = new SafeBatchNorm2d(24);
        var reference = new SafeBatchNorm2d(24);
        ours.train();
        reference.train();
        using (no_grad())
        {
            ours.running_mean!.uniform_(-1, 1);
            ours.running_var!.uniform_(0.5, 2);
            reference.running_mean!.copy_(ours.running_mean);
            reference.running_var!.copy_(ours.running_var);
        }
        var xNhwc = MemoryLayout.ToChannelsLast(x);
        var y = ours.call(xNhwc);
        MemoryLayout.BatchNorm = BatchNormPath.LibTorch;
        var expected = reference.call(x);
        Error(y, expected.to(ScalarType.Float64)).Should().BeLessThan(1e-5);
        Error(ours.running_mean!, reference.running_mean!.to(ScalarType.Float64)).Should().BeLessThan(1e-6);
        Error(ours.running_var!, reference.running_var!.to(ScalarType.Float64)).Should().BeLessThan(1e-6);
        ours.num_batches_tracked!.item<long>().Should().Be(1);
    }

    [Fact]
    public void Should_pass_a_nan_through_where_libtorchs_batchnorm_and_relu6_do()
    {
        using var scope = NewDisposeScope();
        var x = randn(2, 16, 4, 4);
        x[1, 3, 2, 2] = tensor(float.NaN);
        var nhwc = MemoryLayout.ToChannelsLast(x);
        var y = ChannelsLastBatchNorm.Forward(nhwc, ones(16), zeros(16), zeros(16), ones(16), 0.1, 1e-5, relu6: true);
        var expected = nn.functional.relu6(nn.functional.batch_norm(nhwc, zeros(16), ones(16), ones(16), zeros(16), training: true));
        y.isnan().eq(expected.isnan()).all().item<bool>().Should().BeTrue("NaN exactly where libtorch has it (the whole channel 3)");
        expected.isnan().sum().item<long>().Should().Be(2 * 4 * 4);
    }

    /// <summary>
    /// A network in training mode on a channels-last batch at one thread, with this library's kernel (BatchNorm and ReLU6
    /// pairs fused in <see cref="ConvLayers.Run(nn.Module{Tensor, Tensor}, Tensor)"/>): logits closer to a float64
    /// computation of the same network than with libtorch's kernel (measured 2e-5–5e-5 against 7e-5–1.4e-4 over four
    /// batch and input sizes), gradients as close.
    /// </summary>
    [Fact]
    public void Should_train_a_network_closer_to_float64_than_libtorchs_batchnorm()
    {
        set_num_threads(1);
        manual_seed(4);
        using var scope = NewDisposeScope();
        var options = new ModelCreateOptions { NumClasses = 10, DropRate = 0 };
        using var model = ModelRegistry.Create("mobilenext_035", options);
        using var reference = ModelRegistry.Create("mobilenext_035", options);
        ModelWeights.Load(reference, model.state_dict());
        reference.to(ScalarType.Float64);
        model.train();
        reference.train();
        var x = randn(4, 3, 64, 64);
        var labels = randint(0, 10, [4], dtype: ScalarType.Int64);
        (Tensor Logits, Tensor Gradient) Run(ImageClassifier net, Tensor input) => Float64Reference.LogitsAndGradient(net, input, labels);
        var (exactLogits, exactGradient) = Run(reference, x.to(ScalarType.Float64));
        var nhwc = MemoryLayout.ToChannelsLast(x);
        MemoryLayout.BatchNorm = BatchNormPath.Fused;
        var (fusedLogits, fusedGradient) = Run(model, nhwc);
        MemoryLayout.BatchNorm = BatchNormPath.LibTorch;
        var (libtorchLogits, libtorchGradient) = Run(model, nhwc);
        double fused = Error(fusedLogits, exactLogits), libtorch = Error(libtorchLogits, exactLogits);
        fused.Should().BeLessThan(1e-4).And.BeLessThan(libtorch, "float64 sums round less than libtorch's float32 ones");
        // Gradients: a ReLU6 whose input lands within rounding of 0 or 6 lets a different gradient through in float32 and
        // in float64, so which float32 kernel ends closer is chance (2e-5 to 2e-2 over batch and size for either); both
        // must stay within float32's reach.
        Error(fusedGradient, exactGradient).Should().BeLessThan(1e-2);
        Error(libtorchGradient, exactGradient).Should().BeLessThan(1e-2);
    }

    private static double Error(Tensor actual, Tensor exact) => Float64Reference.RelativeError(actual, exact);
}
