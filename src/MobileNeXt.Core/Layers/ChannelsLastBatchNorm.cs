using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Layers;

/// <summary>
/// Training-mode BatchNorm of a channels-last float32 CPU batch, optionally followed by ReLU6 in the same pass, with its
/// backward: PyTorch's <c>batch_norm</c> (batch statistics, biased variance for normalising, unbiased for the running
/// variance, <c>momentum</c> update) and <c>hardtanh(0, 6)</c>, computed over the N·H·W rows of the NHWC memory.
/// </summary>
/// <remarks>
/// <para>Hand-written because libtorch's channels-last kernel sums each thread's share of the rows in float32 (ATen
/// <c>batch_norm_kernel.cpp</c>), so with one thread every row of a layer goes into one float32 sum: MobileNeXt-1.0's
/// channels-last gradients at initialisation measured a cosine of 0.99986 with float64 at one thread, where NCHW's kernel
/// (each plane vectorised, the planes in float64) gives 0.9999999998. Here each thread sums blocks of
/// <see cref="Block"/> rows in float32, shifted by the layer's first row (so that a channel's mean does not swamp its
/// spread), and the blocks in float64.</para>
/// <para>With ReLU6 fused, the clamp happens as the normalised value is written, and backward recomputes its mask from
/// the saved input (the output may be changed in place by a residual add), which saves the activation's separate read
/// and write in each direction.</para>
/// <para>Backward runs inside TorchSharp's autograd callback, where an exception cannot reach the caller: were the saved
/// input changed in place after the forward pass, libtorch's version check would end the process instead of raising.
/// This library's networks never change a BatchNorm's input in place. The same holds for a second backward pass through
/// a graph the first one did not keep: the saved input is freed after a backward pass that frees its graph
/// (<see cref="LibTorchGraph"/>), as libtorch's BatchNorm frees its own, and a second pass ends the process with a
/// message where PyTorch would raise. Its backward is not itself differentiable: a second-order gradient
/// (<c>create_graph</c>) leaves out the BatchNorm's part.</para>
/// </remarks>
internal static class ChannelsLastBatchNorm
{
    /// <summary>Rows summed in float32 before the sum goes into float64.</summary>
    internal const int Block = 32;

    /// <summary>Whether <see cref="Forward"/> serves <paramref name="x"/>: a 4-D float32 CPU batch with NHWC strides.</summary>
    public static bool Serves(Tensor x) =>
        x.dtype == ScalarType.Float32 && x.device_type == DeviceType.CPU && x.ndim == 4 && MemoryLayout.IsChannelsLast(x)
        && x.shape[0] * x.shape[2] * x.shape[3] > 1;

    /// <summary>
    /// <c>batch_norm(x, running_mean, running_var, weight, bias, training: true, momentum, eps)</c>, then ReLU6 when
    /// <paramref name="relu6"/>; the running statistics are updated in place.
    /// </summary>
    public static Tensor Forward(Tensor x, Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar, double momentum, double eps, bool relu6)
    {
        DisposeReturned();
        // TorchSharp's Function.apply makes an empty tensor the size of each output (to make zeros like, should the output
        // get no gradient) in the caller's dispose scope: one more activation per layer until that scope ends (the test
        // Should_hold_no_more_memory_than_libtorchs_batchnorm_through_a_step). This scope frees it at once; backward then
        // must not ask for it (no materialised grads).
        using var scope = NewDisposeScope();
        return Function.apply(x, weight, bias, new Arguments(runningMean, runningVar, momentum, eps, relu6))[0].MoveToOuterDisposeScope();
    }

    private sealed record Arguments(Tensor RunningMean, Tensor RunningVar, double Momentum, double Eps, bool Relu6);

    private sealed class Function : autograd.MultiTensorFunction<Function>
    {
        public override string Name => "ChannelsLastBatchNorm";

        public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var x = (Tensor)vars[0];
            var weight = (Tensor)vars[1];
            var bias = (Tensor)vars[2];
            var a = (Arguments)vars[3];
            int c = checked((int)x.shape[1]);
            long m = x.numel() / c;
            var y = empty_like(x);
            var mean = empty(c, dtype: ScalarType.Float32);
            var invstd = empty(c, dtype: ScalarType.Float32);
            var scaleShift = empty(2 * c, dtype: ScalarType.Float32); // the per-channel a, b of y = a·x + b
            using (var w = weight.contiguous())
            using (var b = bias.contiguous())
                Kernels.Forward(x, y, w, b, mean, invstd, scaleShift, a.RunningMean, a.RunningVar, m, c, a.Momentum, a.Eps, a.Relu6);
            // Not the output: a residual add may change it in place (a block ending in ReLU6 before its shortcut), so
            // backward recomputes the pre-activation from the input for the ReLU6 mask, bit for bit as forward did.
            ctx.save_for_backward([x, mean, invstd, weight, scaleShift]);
            ctx.save_data("relu6", a.Relu6);
            ctx.set_materialize_grads(false); // the tensors it would make zeros like are freed with the scope in Forward
            return [y];
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> grads)
        {
            if (ctx.get_data("released") is true)
                throw new InvalidOperationException(
                    "A second backward pass through a training-mode BatchNorm whose saved input the first one freed, as PyTorch frees a graph's: pass retain_graph: true to the first backward, or set MemoryLayout.BatchNorm = BatchNormPath.LibTorch.");
            var saved = ctx.get_saved_variables();
            using var x = saved[0];
            using var mean = saved[1];
            using var invstd = saved[2];
            using var weight = saved[3];
            using var scaleShift = saved[4];
            bool relu6 = (bool)ctx.get_data("relu6");
            int c = checked((int)x.shape[1]);
            long m = x.numel() / c;
            DisposeReturned();
            using var grad = grads[0];
            if (grad is null || grad.IsInvalid) return [null!, null!, null!, null!]; // no gradient reached the output
            using var dy = MemoryLayout.ToChannelsLast(grad); // an alias when it already is: the kernels read dense NHWC
            var dx = empty_like(x).DetachFromDisposeScope();
            var dw = empty(c, dtype: ScalarType.Float32).DetachFromDisposeScope();
            var db = empty(c, dtype: ScalarType.Float32).DetachFromDisposeScope();
            using (var w = weight.contiguous())
                Kernels.Backward(x, relu6 ? scaleShift : null, dy, mean, invstd, w, dx, dw, db, m, c);
            (_returned ??= []).AddRange([dx, dw, db]);
            // the input, as libtorch's BatchNorm frees it; not under create_graph (grad mode on here), which keeps the graph
            if (!LibTorchGraph.KeepsGraph() && !is_grad_enabled() && LibTorchGraph.ReleaseSaved(ctx))
                ctx.save_data("released", true);
            return [dx, dw, db, null!];
        }
    }

    // The gradients the last backward call on this thread returned. Made in the caller's dispose scope they would each
    // hold a layer's input gradient to the end of the training step; libtorch copies them out of their handles as soon
    // as the callback returns, before this thread calls anything else, so the next call (forward or backward) frees them.
    [ThreadStatic] private static List<Tensor>? _returned;

    internal static void DisposeReturned()
    {
        if (_returned is null) return;
        foreach (var t in _returned) t.Dispose();
        _returned.Clear();
    }

    /// <summary>
    /// The passes over the rows, split into one contiguous range per libtorch thread and run on libtorch's own OpenMP
    /// threads (<see cref="LibTorchThreads"/>). The loops are compiled optimised from their first call
    /// (<c>AggressiveOptimization</c>), so that a run's first steps do not run them as tier-0 code.
    /// </summary>
    private static unsafe class Kernels
    {
        private static float* Ptr(Tensor t) => (float*)TensorMemory.Address(t);

        private static int Chunks(long rows) => (int)Math.Max(1, Math.Min(get_num_threads(), rows / Block));

        // rows [0, m) in one contiguous range per chunk, the chunks in parallel
        private static void ForEachChunk(long m, Action<long, long> body)
        {
            int chunks = Chunks(m);
            LibTorchThreads.For(chunks, k => body(m * k / chunks, m * (k + 1) / chunks));
        }

        // Two per-channel sums over rows [0, m): each chunk's by sums, the chunks added in order (the same result for the
        // same thread count, whichever thread ran which chunk). The arrays come from the shared pool (at least c long);
        // the caller returns them.
        private static (double[] First, double[] Second) ChunkSums(long m, int c, Func<long, long, (double[], double[])> sums)
        {
            int chunks = Chunks(m);
            var parts = new (double[] First, double[] Second)[chunks];
            LibTorchThreads.For(chunks, k => parts[k] = sums(m * k / chunks, m * (k + 1) / chunks));
            var (first, second) = parts[0];
            for (int k = 1; k < chunks; k++)
            {
                for (int j = 0; j < c; j++) { first[j] += parts[k].First[j]; second[j] += parts[k].Second[j]; }
                Doubles.Return(parts[k].First);
                Doubles.Return(parts[k].Second);
            }
            return (first, second);
        }

        // Per-call scratch arrays, pooled: allocated anew in every layer, forward and backward, they made .NET collect
        // garbage several times a second in a 32² training run.
        private static readonly ArrayPool<double> Doubles = ArrayPool<double>.Shared;
        private static readonly ArrayPool<float> Floats = ArrayPool<float>.Shared;

        public static void Forward(Tensor x, Tensor y, Tensor weight, Tensor bias, Tensor mean, Tensor invstd, Tensor scaleShift,
            Tensor runningMean, Tensor runningVar, long m, int c, double momentum, double eps, bool relu6)
        {
            float* xp = Ptr(x), yp = Ptr(y);
            var (s1, s2) = ChunkSums(m, c, (r0, r1) => BlockSums(new ShiftedTerms(xp, c), r0, r1, c));
            float* wp = Ptr(weight), bp = Ptr(bias), mp = Ptr(mean), ip = Ptr(invstd), rmp = Ptr(runningMean), rvp = Ptr(runningVar);
            float* alpha = Ptr(scaleShift), beta = alpha + c;
            for (int j = 0; j < c; j++)
            {
                double sum = s1[j], squares = s2[j];
                double shift = sum / m;
                double mu = xp[j] + shift;                                  // the shift is row 0's value
                double variance = Math.Max(0, squares / m - shift * shift);  // biased, as PyTorch normalises with
                double inv = 1 / Math.Sqrt(variance + eps);
                mp[j] = (float)mu;
                ip[j] = (float)inv;
                alpha[j] = (float)(wp[j] * inv);
                beta[j] = (float)(bp[j] - mu * wp[j] * inv);
                rmp[j] = (float)((1 - momentum) * rmp[j] + momentum * mu);
                rvp[j] = (float)((1 - momentum) * rvp[j] + momentum * variance * m / (m - 1));
            }
            Doubles.Return(s1);
            Doubles.Return(s2);
            ForEachChunk(m, (r0, r1) => Normalize(xp, yp, r0, r1, c, alpha, beta, relu6));
        }

        // scaleShift: the forward's a (c values) then b (c values) when a ReLU6 followed, else null
        public static void Backward(Tensor x, Tensor? scaleShift, Tensor dy, Tensor mean, Tensor invstd, Tensor weight,
            Tensor dx, Tensor dw, Tensor db, long m, int c)
        {
            float* xp = Ptr(x), ap = scaleShift is null ? null : Ptr(scaleShift), gp = Ptr(dy), dxp = Ptr(dx), mp = Ptr(mean);
            var (sums, dots) = ChunkSums(m, c, (r0, r1) => BlockSums(new GradientTerms(xp, ap, gp, mp, c), r0, r1, c));
            float* ip = Ptr(invstd), wp = Ptr(weight), dwp = Ptr(dw), dbp = Ptr(db);
            float[] scale = Floats.Rent(c), gradMean = Floats.Rent(c), k2 = Floats.Rent(c);
            for (int j = 0; j < c; j++)
            {
                double sum = sums[j], dot = dots[j];
                double inv = ip[j];
                dbp[j] = (float)sum;
                dwp[j] = (float)(dot * inv);
                scale[j] = (float)(inv * wp[j]);
                gradMean[j] = (float)(sum / m);
                k2[j] = (float)(dot * inv * inv / m);
            }
            Doubles.Return(sums);
            Doubles.Return(dots);
            ForEachChunk(m, (r0, r1) => InputGradient(xp, ap, gp, dxp, mp, r0, r1, c, scale, gradMean, k2));
            Floats.Return(scale);
            Floats.Return(gradMean);
            Floats.Return(k2);
        }

        // Two per-channel sums over rows [r0, r1) of terms a row contributes: float32 within blocks of Block rows, float64
        // across them.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static (double[] First, double[] Second) BlockSums<T>(T terms, long r0, long r1, int c) where T : struct, IRowTerms
        {
            double[] first = Doubles.Rent(c), second = Doubles.Rent(c);
            float[] a1 = Floats.Rent(c), a2 = Floats.Rent(c);
            Array.Clear(first, 0, c);
            Array.Clear(second, 0, c);
            fixed (float* p1 = a1, p2 = a2)
            {
                for (long start = r0; start < r1; start += Block)
                {
                    long end = Math.Min(start + Block, r1);
                    Array.Clear(a1, 0, c);
                    Array.Clear(a2, 0, c);
                    for (long r = start; r < end; r++) terms.Add(r, p1, p2);
                    for (int j = 0; j < c; j++) { first[j] += a1[j]; second[j] += a2[j]; }
                }
            }
            Floats.Return(a1);
            Floats.Return(a2);
            return (first, second);
        }

        private interface IRowTerms
        {
            /// <summary>Adds row <paramref name="row"/>'s two terms of every channel to <paramref name="first"/> and <paramref name="second"/>.</summary>
            void Add(long row, float* first, float* second);
        }

        // x − x₀ and (x − x₀)², x₀ the layer's first row: the sums give the mean and the biased variance.
        private readonly struct ShiftedTerms(float* x, int c) : IRowTerms
        {
            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            public void Add(long row, float* first, float* second)
            {
                float* xr = x + row * c;
                int v = Vector<float>.Count, j = 0;
                for (; j <= c - v; j += v)
                {
                    var d = Load(xr + j) - Load(x + j);
                    Store(first + j, Load(first + j) + d);
                    Store(second + j, Load(second + j) + d * d);
                }
                for (; j < c; j++)
                {
                    float d = xr[j] - x[j];
                    first[j] += d;
                    second[j] += d * d;
                }
            }
        }

        // g and g·(x − mean), g the gradient reaching the BatchNorm (see Gradient); ab: the ReLU6's a then b, or null.
        private readonly struct GradientTerms(float* x, float* ab, float* dy, float* mean, int c) : IRowTerms
        {
            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            public void Add(long row, float* first, float* second)
            {
                float* xr = x + row * c, gr = dy + row * c;
                int v = Vector<float>.Count, j = 0;
                for (; j <= c - v; j += v)
                {
                    var xv = Load(xr + j);
                    var g = Gradient(gr, xv, ab, j, c);
                    Store(first + j, Load(first + j) + g);
                    Store(second + j, Load(second + j) + g * (xv - Load(mean + j)));
                }
                for (; j < c; j++)
                {
                    float g = Gradient(gr, xr[j], ab, j, c);
                    first[j] += g;
                    second[j] += g * (xr[j] - mean[j]);
                }
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Normalize(float* x, float* y, long r0, long r1, int c, float* ap, float* bp, bool relu6)
        {
            int v = Vector<float>.Count;
            var zero = Vector<float>.Zero;
            var six = new Vector<float>(6f);
            for (long r = r0; r < r1; r++)
            {
                float* xr = x + r * c, yr = y + r * c;
                int j = 0;
                for (; j <= c - v; j += v)
                {
                    var o = Load(xr + j) * Load(ap + j) + Load(bp + j);
                    if (relu6)
                    {
                        // comparisons are false for NaN, so NaN passes through as it does through clamp
                        o = Vector.ConditionalSelect(Vector.LessThan(o, zero), zero, o);
                        o = Vector.ConditionalSelect(Vector.GreaterThan(o, six), six, o);
                    }
                    Store(yr + j, o);
                }
                for (; j < c; j++)
                {
                    float o = xr[j] * ap[j] + bp[j];
                    if (relu6) o = o < 0 ? 0 : o > 6 ? 6 : o;
                    yr[j] = o;
                }
            }
        }

        // dx = (g − Σg/M − (x − mean)·Σg(x − mean)·invstd²/M)·invstd·weight
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void InputGradient(float* x, float* ab, float* dy, float* dx, float* mean, long r0, long r1, int c,
            float[] scale, float[] gradMean, float[] k2)
        {
            int v = Vector<float>.Count;
            fixed (float* sp = scale, gp = gradMean, kp = k2)
            {
                for (long r = r0; r < r1; r++)
                {
                    float* xr = x + r * c, gr = dy + r * c, dr = dx + r * c;
                    int j = 0;
                    for (; j <= c - v; j += v)
                    {
                        var xv = Load(xr + j);
                        var g = Gradient(gr, xv, ab, j, c);
                        Store(dr + j, (g - Load(gp + j) - (xv - Load(mean + j)) * Load(kp + j)) * Load(sp + j));
                    }
                    for (; j < c; j++)
                    {
                        float g = Gradient(gr, xr[j], ab, j, c);
                        dr[j] = (g - gp[j] - (xr[j] - mean[j]) * kp[j]) * sp[j];
                    }
                }
            }
        }

        // The gradient reaching the BatchNorm at channels j…: the incoming one, zero where a ReLU6 (ab: its a then b) clamped
        // — where the pre-activation a·x + b, recomputed as forward computed it, is not inside (0, 6); NaN is not, as in
        // libtorch's hardtanh_backward.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector<float> Gradient(float* gr, Vector<float> x, float* ab, int j, int c)
        {
            var g = Load(gr + j);
            if (ab is null) return g;
            var o = x * Load(ab + j) + Load(ab + c + j);
            return Vector.ConditionalSelect(Vector.GreaterThan(o, Vector<float>.Zero) & Vector.LessThan(o, new Vector<float>(6f)), g, Vector<float>.Zero);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static float Gradient(float* gr, float x, float* ab, int j, int c)
        {
            if (ab is null) return gr[j];
            float o = x * ab[j] + ab[c + j];
            return o > 0 && o < 6 ? gr[j] : 0;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector<float> Load(float* p) => Unsafe.ReadUnaligned<Vector<float>>(p);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Store(float* p, Vector<float> value) => Unsafe.WriteUnaligned(p, value);
    }
}
