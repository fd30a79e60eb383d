using System.Diagnostics;
using MobileNeXt.Layers;
using MobileNeXt.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Bench;

/// <summary>
/// Each distinct pointwise (1×1, stride-1) convolution of a network, on a channels-last batch, forward and backward
/// (input and weight gradients): libtorch's 1×1 kernel against the matrix product (<see cref="ConvLayers.PointwiseAsMatmul"/>),
/// alternated call by call after warm-up, medians; weighted by how many layers share the shape. Says where the kernel
/// pays and where it does not, which the whole-step benches (<c>train-step-pointwise</c>) average over.
/// </summary>
internal static class PointwiseLayersBenchmark
{
    public static void Run(string model, int inputSize, int batch, int threads, int rounds)
    {
        set_num_threads(threads);
        var shapes = new Dictionary<(long C, long H, long W, long O), int>();
        using (var net = ModelRegistry.Create(model, new ModelCreateOptions { NumClasses = 10 }))
        {
            var removers = new List<Action>();
            foreach (var conv in net.modules().OfType<Conv2d>())
            {
                var w = conv.weight!;
                if (w.shape[2] != 1 || w.shape[3] != 1 || conv.stride.Any(s => s != 1) || conv.groups != 1) continue;
                var hook = conv.register_forward_pre_hook((m, input) =>
                {
                    var key = (input.shape[1], input.shape[2], input.shape[3], w.shape[0]);
                    shapes[key] = shapes.GetValueOrDefault(key) + 1;
                    return null!;
                });
                removers.Add(hook.remove);
            }
            net.eval();
            using var _ = no_grad();
            using var x = zeros(1, 3, inputSize, inputSize);
            using var y = net.call(x); // NCHW: the plain path, where hooks fire
            foreach (var remove in removers) remove();
        }

        Console.WriteLine($"# Pointwise convolutions of {model} at {inputSize}², batch {batch}, {threads} thread(s), channels-last, forward + backward, median of {rounds} calls each; malloc: {TorchRuntime.LoadedAllocator() ?? "glibc"}");
        Console.WriteLine();
        Console.WriteLine("| C_in → C_out at H×W | layers | rows (N·H·W) | kernel ms | matrix product ms | kernel speed vs matrix product |");
        Console.WriteLine("|---|---|---|---|---|---|");
        double kernelTotal = 0, matmulTotal = 0;
        foreach (var ((c, h, w, o), count) in shapes.OrderByDescending(s => s.Key.H).ThenBy(s => s.Key.C))
        {
            using var scope = NewDisposeScope();
            var x = MemoryLayout.ToChannelsLast(randn(batch, c, h, w)).requires_grad_(true);
            var weight = (randn(o, c, 1, 1) * 0.1).requires_grad_(true);
            var upstream = MemoryLayout.ToChannelsLast(randn(batch, o, h, w));
            double Once(Func<Tensor> forward)
            {
                using var inner = NewDisposeScope();
                long start = Stopwatch.GetTimestamp();
                var y = forward();
                var grads = autograd.grad([y], [x, weight], [upstream]);
                return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
            Func<Tensor> kernel = () => PointwiseKernelCheck.DefaultKernel(x, weight, null, 1);
            Func<Tensor> matmul = () => ConvLayers.PointwiseAsMatmul(x, weight, null, 1);
            for (int i = 0; i < 3; i++) { Once(kernel); Once(matmul); }
            var k = new double[rounds];
            var m = new double[rounds];
            for (int i = 0; i < rounds; i++)
            {
                if (i % 2 == 0) { k[i] = Once(kernel); m[i] = Once(matmul); }
                else { m[i] = Once(matmul); k[i] = Once(kernel); }
            }
            double km = Timing.Median(k), mm = Timing.Median(m);
            kernelTotal += km * count;
            matmulTotal += mm * count;
            Console.WriteLine($"| {c} → {o} at {h}×{w} | {count} | {batch * h * w} | {km:0.00} | {mm:0.00} | {mm / km:0.00}× |");
        }
        Console.WriteLine($"| all, weighted by layers | | | {kernelTotal:0.0} | {matmulTotal:0.0} | {matmulTotal / kernelTotal:0.00}× |");
        Console.WriteLine();
    }
}
