using System.Collections.Concurrent;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Layers;

/// <summary>
/// Whether libtorch's own kernel computes a 1×1, stride-1 convolution of a channels-last batch right, checked once per
/// shape, batch, group count, bias, dtype, device and thread count against the matrix product the convolution is
/// (<see cref="ConvLayers.PointwiseAsMatmul"/>): the output, and where a gradient will be taken the input, weight and
/// bias gradients too, each within <see cref="Tolerance"/> relative L2. The check reads no random numbers, so a run
/// with it draws the same values as one without.
/// </summary>
/// <remarks>
/// Float32 results of the two computations differ by summation order only, about 1e-6 relative; the wrong oneDNN
/// kernel this guards against (<see cref="ConvLayers"/>) was 8–38 % off. A check costs about one forward and backward
/// of the layer by each path, once per key.
/// </remarks>
internal static class PointwiseKernelCheck
{
    /// <summary>The largest relative L2 difference from the matrix product a right kernel may have.</summary>
    public const double Tolerance = 1e-3;

    private static readonly ConcurrentDictionary<Key, Verdict> Verdicts = new();

    /// <summary>The kernel under check (libtorch's conv2d); tests replace it with a wrong one.</summary>
    internal static Func<Tensor, Tensor, Tensor?, long, Tensor> Kernel { get; set; } = DefaultKernel;

    internal static Tensor DefaultKernel(Tensor x, Tensor weight, Tensor? bias, long groups) =>
        nn.functional.conv2d(x, weight, bias, groups: groups);

    /// <summary>How many keys have been checked, and how many of them found the kernel wrong.</summary>
    internal static (int Checked, int Wrong) Counts
    {
        get
        {
            var all = Verdicts.Values.ToList();
            return (all.Count, all.Count(v => !v.Forward || v.Backward == false));
        }
    }

    /// <summary>Wall time spent checking so far, every thread together (bench <c>train-steady</c> reports it).</summary>
    internal static TimeSpan CheckTime => TimeSpan.FromTicks(Interlocked.Read(ref _checkTicks));

    private static long _checkTicks;

    /// <summary>Forgets every verdict (tests, after replacing <see cref="Kernel"/>).</summary>
    internal static void Reset()
    {
        Verdicts.Clear();
        Interlocked.Exchange(ref _checkTicks, 0);
    }

    /// <summary>
    /// Whether the kernel is right for <paramref name="x"/> (channels-last) and this weight, checking on first sight.
    /// With autograd recording (<paramref name="x"/>, the weight or the bias requiring a gradient) the backward pass
    /// must be right too.
    /// </summary>
    public static bool IsRight(Tensor x, Tensor weight, Tensor? bias, long groups)
    {
        bool backward = is_grad_enabled() && (x.requires_grad || weight.requires_grad || bias?.requires_grad == true);
        var key = new Key(x.shape[0], x.shape[1], x.shape[2], x.shape[3], weight.shape[0], groups, bias is not null,
            x.dtype, x.device_type, x.device_index, get_num_threads());
        if (!Verdicts.TryGetValue(key, out var verdict) || (backward && verdict.Backward is null))
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            verdict = Check(x, weight, bias, groups, backward);
            Interlocked.Add(ref _checkTicks, System.Diagnostics.Stopwatch.GetElapsedTime(start).Ticks);
            Verdicts[key] = verdict;
        }
        return backward ? verdict.Backward == true : verdict.Forward;
    }

    private static Verdict Check(Tensor x, Tensor weight, Tensor? bias, long groups, bool backward)
    {
        using var scope = NewDisposeScope();
        if (!backward)
        {
            using var noGrad = no_grad();
            return new Verdict(Close(Kernel(x, weight, bias, groups), ConvLayers.PointwiseAsMatmul(x, weight, bias, groups)), null);
        }
        using var enableGrad = enable_grad();
        // fresh leaves on the same values, outside the caller's graph
        Tensor[] Leaves() => bias is null
            ? [x.detach().requires_grad_(true), weight.detach().requires_grad_(true)]
            : [x.detach().requires_grad_(true), weight.detach().requires_grad_(true), bias.detach().requires_grad_(true)];
        var k = Leaves();
        var m = Leaves();
        var yk = Kernel(k[0], k[1], bias is null ? null : k[2], groups);
        var ym = ConvLayers.PointwiseAsMatmul(m[0], m[1], bias is null ? null : m[2], groups);
        using var upstream = ym.detach(); // channels-last, as the gradient arriving from the next layer is
        var gk = autograd.grad([yk], k, [upstream]);
        var gm = autograd.grad([ym], m, [upstream]);
        bool forward = Close(yk, ym);
        return new Verdict(forward, forward && gk.Zip(gm).All(p => Close(p.First, p.Second)));
    }

    private static bool Close(Tensor actual, Tensor expected)
    {
        using var a = actual.to(ScalarType.Float64);
        using var e = expected.to(ScalarType.Float64);
        using var diff = a - e;
        double error = diff.norm().item<double>(), scale = e.norm().item<double>();
        return double.IsFinite(error) && error <= Tolerance * scale;
    }

    private readonly record struct Key(long Batch, long Input, long Height, long Width, long Output, long Groups, bool Bias,
        ScalarType Type, DeviceType Device, int DeviceIndex, int Threads);

    /// <param name="Forward">The output is right.</param>
    /// <param name="Backward">The output and all gradients are right; null while not checked.</param>
    private sealed record Verdict(bool Forward, bool? Backward);
}
