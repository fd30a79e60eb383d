using System.Diagnostics;
using MobileNeXt.Layers;
using static TorchSharp.torch;

namespace MobileNeXt.Bench;

/// <summary>
/// Training-mode BatchNorm + ReLU6 of channels-last batches of mobilenext_100's shapes at 224², batch 32, forward and
/// backward: libtorch's <c>batch_norm</c> then <c>relu6</c> against <see cref="ChannelsLastBatchNorm"/>'s fused pass,
/// alternated call by call after warm-up, medians; and how far each one's output and input gradient are from libtorch's
/// float64 computation of the same values (relative L2).
/// </summary>
internal static class BatchNormBenchmark
{
    public static void Run(int threads, int rounds)
    {
        set_num_threads(threads);
        (long C, long H)[] shapes = [(32, 112), (96, 56), (144, 56), (192, 28), (384, 14), (960, 7)];
        Console.WriteLine($"# BatchNorm + ReLU6, training mode, channels-last, batch 32, {threads} thread(s), forward + backward, median of {rounds}; malloc: {TorchRuntime.LoadedAllocator() ?? "glibc"}");
        Console.WriteLine();
        Console.WriteLine("| C at H×W | libtorch ms | fused ms | fused speed vs libtorch | libtorch error: output, input gradient | fused error: output, input gradient |");
        Console.WriteLine("|---|---|---|---|---|---|");
        double total0 = 0, total1 = 0;
        foreach (var (c, h) in shapes)
        {
            using var scope = NewDisposeScope();
            var x = MemoryLayout.ToChannelsLast(randn(32, c, h, h) * 2 + 1).requires_grad_(true);
            var w = (rand(c) + 0.5).requires_grad_(true);
            var b = randn(c).requires_grad_(true);
            var rm = zeros(c);
            var rv = ones(c);
            var up = MemoryLayout.ToChannelsLast(randn(32, c, h, h));
            double Once(Func<Tensor> f)
            {
                using var inner = NewDisposeScope();
                long start = Stopwatch.GetTimestamp();
                var y = f();
                var g = autograd.grad([y], [x, w, b], [up]);
                return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
            Func<Tensor> aten = () => nn.functional.relu6(nn.functional.batch_norm(x, rm, rv, w, b, true, 0.1, 1e-5));
            Func<Tensor> fused = () => ChannelsLastBatchNorm.Forward(x, w, b, rm, rv, 0.1, 1e-5, relu6: true);
            for (int i = 0; i < 3; i++) { Once(aten); Once(fused); }
            var a = new double[rounds];
            var f = new double[rounds];
            for (int i = 0; i < rounds; i++)
            {
                if (i % 2 == 0) { a[i] = Once(aten); f[i] = Once(fused); }
                else { f[i] = Once(fused); a[i] = Once(aten); }
            }
            double am = Timing.Median(a), fm = Timing.Median(f);
            total0 += am; total1 += fm;
            var x64 = x.detach().to(ScalarType.Float64).requires_grad_(true);
            var y64 = nn.functional.relu6(nn.functional.batch_norm(x64, null, null, w.detach().to(ScalarType.Float64), b.detach().to(ScalarType.Float64), true, 0.1, 1e-5));
            var g64 = autograd.grad([y64], [x64], [up.to(ScalarType.Float64)])[0];
            string Errors(Func<Tensor> forward)
            {
                var y = forward();
                var g = autograd.grad([y], [x], [up])[0];
                return $"{Relative(y, y64):0.0e0}, {Relative(g, g64):0.0e0}";
            }
            Console.WriteLine($"| {c} at {h}×{h} | {am:0.00} | {fm:0.00} | {am / fm:0.00}× | {Errors(aten)} | {Errors(fused)} |");
        }
        Console.WriteLine($"| all | {total0:0.0} | {total1:0.0} | {total0 / total1:0.00}× | | |");
    }

    private static double Relative(Tensor actual, Tensor exact) =>
        ((actual.to(ScalarType.Float64) - exact).norm() / exact.norm()).item<double>();
}
