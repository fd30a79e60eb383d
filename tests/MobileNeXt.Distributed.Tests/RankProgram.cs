using MobileNeXt.Layers;
using MobileNeXt.Training.Optimization;
using System.Diagnostics;
using System.Globalization;
using MobileNeXt.Training.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Distributed.Tests;

/// <summary>
/// The program every rank runs: <c>dotnet MobileNeXt.Distributed.Tests.dll &lt;scenario&gt; &lt;outdir&gt;</c>, under
/// mpirun or alone. Each scenario writes result files into outdir for the tests to check.
/// </summary>
public static class RankProgram
{
    /// <summary>Entry point: scenario name, the scenario's own arguments if any, and the output directory (last).</summary>
    public static int Main(string[] args)
    {
        if (args.Length < 2)
        {
            Console.Error.WriteLine("usage: dotnet MobileNeXt.Distributed.Tests.dll <collectives|sgd|step|throw|unhandled|bench|train|train-resume <last.pth>|train-throw|train-probe|train-darts|bench-step <steps> [threads] [batch] [size] [model]> <outdir>");
            return 2;
        }
        var (scenario, extra, outDir) = (args[0], args[1..^1], args[^1]);
        Directory.CreateDirectory(outDir);
        TorchRuntime.EnsureAvailable();
        torch.set_num_threads(1); // two ranks on two cores
        using var comm = Communicators.Create();
        File.WriteAllText(Path.Combine(outDir, $"world-rank{comm.Rank}.txt"), $"{comm.GetType().Name} {comm.Rank} {comm.Size}");
        return MpiCommunicator.AbortOnException(() => scenario switch
        {
            "collectives" => Collectives(comm, outDir),
            "sgd" => Sgd(comm, outDir),
            "step" => Step(comm, outDir),
            "throw" => Throw(comm),
            "bad-input" => BadInput(comm),
            "unhandled" => Unhandled(comm),
            "bench" => Bench(comm, outDir),
            "train" => TrainerScenarios.Train(comm, outDir),
            "train-resume" => TrainerScenarios.ResumeWithThisManyRanks(comm, extra[0], outDir),
            "train-throw" => TrainerScenarios.ThrowInsideTraining(comm, outDir),
            "train-probe" => TrainerScenarios.Probe(comm, outDir),
            "train-darts" => TrainerScenarios.TrainDarts(comm, outDir),
            "bench-step" => TrainerScenarios.BenchStep(comm, extra),
            _ => throw new ArgumentException($"unknown scenario '{scenario}'"),
        });
    }

    // (a) sums and broadcasts must be exact, for every supported dtype, root 0 and root 1.
    private static int Collectives(ICommunicator comm, string outDir)
    {
        var lines = new List<string>();
        void Expect(string name, bool ok, string detail = "") => lines.Add($"{name}: {(ok ? "ok" : "FAIL " + detail)}");
        int r = comm.Rank, n = comm.Size;

        // float32: per-rank values with fractions; the expected sum is computed the same way MPI adds (rank order).
        using (var t = arange(1000, dtype: ScalarType.Float32).mul(0.1f).add(r + 0.25f))
        {
            comm.AllReduceSum(t);
            var got = t.data<float>().ToArray();
            var bad = Enumerable.Range(0, 1000).Count(i =>
            {
                var expected = 0f;
                for (var k = 0; k < n; k++) expected += (float)(i * 0.1f) + (k + 0.25f);
                return got[i] != expected;
            });
            Expect("allreduce-float32", bad == 0, $"{bad} elements off");
        }
        using (var t = full(new long[] { 7, 3 }, r + 1, dtype: ScalarType.Float32))
        {
            comm.AllReduceSum(t);
            Expect("allreduce-float32-integers-exact", t.eq(n * (n + 1) / 2).all().item<bool>());
        }
        using (var t = full(new long[] { 5 }, 1.0 / 3 + r, dtype: ScalarType.Float64))
        {
            comm.AllReduceSum(t);
            var expected = 0.0;
            for (var k = 0; k < n; k++) expected += 1.0 / 3 + k;
            Expect("allreduce-float64-exact", t.data<double>().All(v => v == expected), $"{t[0].item<double>()} vs {expected}");
        }
        using (var t = full(new long[] { 4 }, (1L << 40) + r, dtype: ScalarType.Int64))
        {
            comm.AllReduceSum(t);
            var expected = Enumerable.Range(0, n).Sum(k => (1L << 40) + k);
            Expect("allreduce-int64-exact", t.data<long>().All(v => v == expected));
        }
        using (var t = full(new long[] { 4 }, 3 * r + 1, dtype: ScalarType.Int32))
        {
            comm.AllReduceSum(t);
            Expect("allreduce-int32-exact", t.data<int>().All(v => v == Enumerable.Range(0, n).Sum(k => 3 * k + 1)));
        }
        for (var root = 0; root < n; root++)
        {
            using var t = arange(257, dtype: ScalarType.Float32).mul(r + 1.5f);
            comm.Broadcast(t, root);
            var expected = Enumerable.Range(0, 257).Select(i => i * (root + 1.5f)).ToArray();
            Expect($"broadcast-float32-root{root}", t.data<float>().ToArray().SequenceEqual(expected));
            using var bits = tensor(new[] { r == root, r != root });
            comm.Broadcast(bits, root);
            Expect($"broadcast-bool-root{root}", bits[0].item<bool>() && !bits[1].item<bool>());
        }
        using (var empty = zeros(0))
        {
            comm.AllReduceSum(empty);
            comm.Broadcast(empty);
            Expect("empty-tensor", true);
        }
        using (var m = ones(4, 6).t())
        {
            var threw = Throws<ArgumentException>(() => comm.AllReduceSum(m));
            Expect("non-contiguous-is-ArgumentException", threw);
        }
        using (var h = ones(3, dtype: ScalarType.Float16))
            Expect("float16-allreduce-is-ArgumentException", comm is SingleProcessCommunicator || Throws<ArgumentException>(() => comm.AllReduceSum(h)));
        comm.Barrier();
        Expect("barrier", true);
        File.WriteAllLines(Path.Combine(outDir, $"collectives-rank{r}.txt"), lines);
        return 0;
    }

    private static bool Throws<T>(Action a) where T : Exception
    {
        try { a(); return false; }
        catch (T) { return true; }
    }

    /// <summary>Conv + BatchNorm + linear: small, but with every kind of state a MobileNeXt has.</summary>
    internal static nn.Module<Tensor, Tensor> BnNet() => nn.Sequential(
        nn.Conv2d(3, 8, 3, padding: 1, bias: false), new SafeBatchNorm2d(8), nn.ReLU6(),
        nn.Conv2d(8, 8, 3, stride: 2, padding: 1, groups: 8, bias: false), new SafeBatchNorm2d(8), nn.ReLU6(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5));

    /// <summary>Conv + linear, no BatchNorm: a step on a split batch must equal one on the whole batch.</summary>
    internal static nn.Module<Tensor, Tensor> PlainNet() => nn.Sequential(
        nn.Conv2d(3, 6, 3, padding: 1), nn.ReLU(), nn.Conv2d(6, 6, 3, stride: 2, padding: 1), nn.ReLU(),
        nn.Flatten(), nn.Linear(6 * 4 * 4, 5));

    // (b) different weights at the start and different data per rank; after broadcast + averaged flat-buffer
    // gradients + BN sync, every rank's state must be bit-identical.
    private static int Sgd(ICommunicator comm, string outDir)
    {
        int r = comm.Rank;
        torch.manual_seed(100 + r); // deliberately different initial weights: BroadcastFrom must fix that
        var model = BnNet();
        var synced = ParameterSync.BroadcastFrom(model, comm);
        using var grads = new FlatGradientBuffer(model.parameters());
        using var opt = ParameterGroups.Split(model, decayNormAndBias: true).CreateSgd(0.05, 0.9, nesterov: false, weightDecay: 1e-4);
        var gen = new Generator(1000 + (ulong)r);
        var losses = new List<float>();
        var attachedEveryStep = true;
        model.train();
        for (var step = 0; step < 5; step++)
        {
            using var scope = NewDisposeScope();
            var x = randn(new long[] { 6, 3, 8, 8 }, generator: gen);
            var y = randint(0, 5, new long[] { 6 }, generator: gen);
            opt.ZeroGrad();
            var loss = nn.functional.cross_entropy(model.forward(x), y);
            loss.backward();
            attachedEveryStep &= grads.IsAttached() && grads.Buffer.abs().sum().item<float>() > 0;
            grads.AverageGradients(comm);
            opt.Step();
            losses.Add(loss.item<float>());
        }
        var before = RunningStatsBytes(model);
        var averaged = BatchNormSync.AverageRunningStats(model, comm);
        File.WriteAllBytes(Path.Combine(outDir, $"sgd-bn-before-rank{r}.bin"), before);
        File.WriteAllBytes(Path.Combine(outDir, $"sgd-state-rank{r}.bin"), StateBytes(model));
        File.WriteAllLines(Path.Combine(outDir, $"sgd-rank{r}.txt"), [
            $"losses: {string.Join(' ', losses.Select(l => l.ToString("R", CultureInfo.InvariantCulture)))}",
            $"synced: {synced}", $"bn-averaged: {averaged}", $"attached: {attachedEveryStep}", $"reattached: {grads.Reattached}"]);
        return 0;
    }

    // (c) one step on this rank's share of a fixed global batch; written for comparison with a 1-process run.
    private static int Step(ICommunicator comm, string outDir)
    {
        const int GlobalBatch = 8;
        torch.manual_seed(42);
        var model = PlainNet();
        ParameterSync.BroadcastFrom(model, comm);
        using var grads = new FlatGradientBuffer(model.parameters());
        using var opt = ParameterGroups.Split(model, decayNormAndBias: true).CreateSgd(0.5, 0, nesterov: false, weightDecay: 0);
        var gen = new Generator(7);
        for (var step = 0; step < 2; step++)
        {
            using var scope = NewDisposeScope();
            var x = randn(new long[] { GlobalBatch, 3, 8, 8 }, generator: gen);
            var y = randint(0, 5, new long[] { GlobalBatch }, generator: gen);
            var share = GlobalBatch / comm.Size;
            opt.ZeroGrad();
            var loss = nn.functional.cross_entropy(model.forward(x.narrow(0, comm.Rank * share, share)), y.narrow(0, comm.Rank * share, share));
            loss.backward();
            grads.AverageGradients(comm);
            opt.Step();
        }
        File.WriteAllBytes(Path.Combine(outDir, $"step-size{comm.Size}-rank{comm.Rank}.bin"), StateBytes(model));
        return 0;
    }

    // (d') the same with an error in the user's input (an ArgumentException, as an invalid option raises)
    private static int BadInput(ICommunicator comm) => FailOnRankOne(comm, new ArgumentException("deliberate bad input in the bad-input scenario"));

    // (d) rank 1 fails while rank 0 waits in a collective that can never complete.
    private static int Throw(ICommunicator comm) => FailOnRankOne(comm, new InvalidOperationException("deliberate failure in the throw scenario"));

    private static int FailOnRankOne(ICommunicator comm, Exception failure)
    {
        comm.Barrier();
        if (comm.Rank == 1) throw failure;
        using var t = ones(10);
        comm.AllReduceSum(t); // would hang forever without MPI_Abort
        Thread.Sleep(Timeout.Infinite);
        return 0;
    }

    // (d') the same from an unhandled exception on a background thread, caught by the process-wide handler.
    private static int Unhandled(ICommunicator comm)
    {
        MpiCommunicator.AbortJobOnUnhandledException();
        comm.Barrier();
        if (comm.Rank == 1)
        {
            var thread = new Thread(() => throw new InvalidOperationException("deliberate unhandled failure on a worker thread"));
            thread.Start();
            thread.Join();
        }
        using var t = ones(10);
        comm.AllReduceSum(t);
        Thread.Sleep(Timeout.Infinite);
        return 0;
    }

    // 14 MB float buffer (MobileNeXt-1.0's 3.5 M parameters): in-place all-reduce time between the ranks.
    private static int Bench(ICommunicator comm, string outDir)
    {
        using var buffer = ones(3_500_000);
        var times = new List<double>();
        for (var i = 0; i < 25; i++)
        {
            comm.Barrier();
            var sw = Stopwatch.StartNew();
            comm.AllReduceSum(buffer);
            times.Add(sw.Elapsed.TotalMilliseconds);
        }
        times = times.Skip(5).Order().ToList();
        var exact = buffer.eq(Math.Pow(comm.Size, 25)).all().item<bool>();
        var text = $"allreduce 14 MB float32, {comm.Size} ranks: median {times[times.Count / 2]:F2} ms, min {times[0]:F2} ms, max {times[^1]:F2} ms, exact {exact}";
        if (comm.IsRoot)
        {
            Console.WriteLine(text);
            File.WriteAllText(Path.Combine(outDir, "bench.txt"), text);
        }
        return 0;
    }

    /// <summary>Every parameter and buffer's raw bytes, in state-dict order (of each model in turn).</summary>
    internal static byte[] StateBytes(params nn.Module[] models)
    {
        using var stream = new MemoryStream();
        foreach (var model in models)
            foreach (var (_, t) in model.state_dict()) stream.Write(t.contiguous().bytes);
        return stream.ToArray();
    }

    private static byte[] RunningStatsBytes(nn.Module model)
    {
        using var stream = new MemoryStream();
        foreach (var (name, t) in model.named_buffers())
            if (name.EndsWith("running_mean", StringComparison.Ordinal) || name.EndsWith("running_var", StringComparison.Ordinal))
                stream.Write(t.bytes);
        return stream.ToArray();
    }
}
