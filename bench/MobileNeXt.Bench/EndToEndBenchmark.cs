using System.Diagnostics;
using MobileNeXt.Training;
using MobileNeXt.Training.Data;
using MobileNeXt.Training.Recipes;
using MobileNeXt.Training.Reporting;
using static TorchSharp.torch;

namespace MobileNeXt.Bench;

/// <summary>
/// The trainer as <c>mobilenext train</c> runs it: whether the data pipeline keeps the step fed (images/s of the whole
/// loop beside the bare step in the same process), and whether throughput holds steady from epoch to epoch.
/// </summary>
internal static class EndToEndBenchmark
{
    private const int Batch = 32, Warmup = 3;

    /// <summary>
    /// mobilenext_100 at 224², batch 32, 2 libtorch threads, the released recipe's augmentation (ColorJitter 0.4), on an
    /// ImageNet-layout folder of the data bench's JPEGs, beside the same number of bare steps on one fixed batch.
    /// </summary>
    public static void Fed(int steps, int workers)
    {
        const int threads = 2;
        set_num_threads(threads);
        string root = Directory.CreateTempSubdirectory("mobilenext-e2e").FullName;
        TrainingBenchmark.WriteJpegFolder(Path.Combine(root, "train"), (steps + Warmup) * Batch);
        TrainingBenchmark.WriteJpegFolder(Path.Combine(root, "val"), 8); // evaluation is not timed
        var options = RecipePresets.Released with
        {
            Model = "mobilenext_100", BatchSize = Batch, Epochs = 2, WarmupEpochs = 0, CooldownEpochs = 0, Workers = workers,
            Threads = threads, OutputDirectory = Path.Combine(root, "run"), MaxStepsPerEpoch = steps + Warmup, EmaDecay = null,
        };
        var clock = new StepClock(Batch);
        using (var trainer = new Trainer(options, TrainingData.Open(root), progress: clock))
            trainer.Run();
        double loop = clock.ImagesPerSecond(epoch: 1, from: Warmup); // the second epoch: JIT and allocator warm
        double bare = BareSteps(options.ChannelsLast, steps);
        Console.WriteLine($"# End to end: mobilenext_100, 224², batch {Batch}, {threads} libtorch threads, {workers} data worker(s), " +
            $"{steps} steps after {Warmup} warm-up ones, JPEGs decoded and augmented on the fly");
        Console.WriteLine();
        Console.WriteLine("| | img/s | vs bare step |");
        Console.WriteLine("|---|---|---|");
        Console.WriteLine($"| bare step (one batch in memory, {(options.ChannelsLast ? "channels-last" : "NCHW")}) | {bare:0.0} | 1.00× |");
        Console.WriteLine($"| `Trainer` on the JPEG folder | {loop:0.0} | {loop / bare:0.00}× |");
        Console.WriteLine();
        Directory.Delete(root, recursive: true);
    }

    /// <summary>
    /// The run the issue saw swing between 23 and 159 img/s: <c>train --data synthetic -m mobilenext_035 --input-size 32
    /// -b 64</c>, each epoch's training images/s and its distance from the median. After each epoch, on the trainer's
    /// thread while the loader waits, the same step without the loader (<see cref="BareTrainingStep"/>: mobilenext_035,
    /// 32², batch 64, the same threads and pointwise path) runs as many steps as the epoch had: the machine's own speed
    /// at that moment, so that an epoch slowed by the machine is told apart from one slowed by the pipeline.
    /// <paramref name="images"/> sets the synthetic training set's size (2000, the command's, by default).
    /// </summary>
    public static void Steady(int epochs, int? threads, bool channelsLast, PointwiseConvolutionPath pointwise, int images = 2000, BatchNormPath batchNorm = BatchNormPath.Auto)
    {
        string output = Directory.CreateTempSubdirectory("mobilenext-steady").FullName;
        var options = RecipePresets.Paper with
        {
            Model = "mobilenext_035", InputSize = 32, BatchSize = 64, Epochs = epochs, OutputDirectory = Path.Combine(output, "run"), Threads = threads,
            ChannelsLast = channelsLast, PointwiseConvolutions = pointwise, BatchNorm = batchNorm,
        };
        var synthetic = TrainingData.Open("synthetic", syntheticImageSize: 32);
        var data = synthetic with { Train = new SyntheticShapesDataset(new SyntheticShapesOptions { Count = images, ImageSize = 32, Seed = 1 }), Source = null };
        BareTrainingStep? bare = null;
        var clock = new StepClock(options.BatchSize, steps =>
        {
            for (int i = 0; i < Warmup; i++) bare!.Run();
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < steps; i++) bare!.Run();
            return steps * options.BatchSize / Stopwatch.GetElapsedTime(start).TotalSeconds;
        });
        int used;
        PointwiseConvolutionPath path;
        using (var trainer = new Trainer(options, data, progress: clock))
        {
            used = trainer.Threads;
            path = trainer.Options.PointwiseConvolutions;
            bare = new BareTrainingStep(channelsLast, options.BatchSize, new SyntheticShapesOptions().NumClasses, decayNormAndBias: false, "mobilenext_035", 32);
            trainer.Run();
        }
        bare.Dispose();
        var rates = Enumerable.Range(0, epochs).Select(e => clock.ImagesPerSecond(e, from: 0)).ToArray();
        var alone = clock.Bare.ToArray();
        var relative = rates.Zip(alone, (r, b) => r / b).ToArray();
        Console.WriteLine($"# Steady throughput: mobilenext_035, 32², batch 64, {images} synthetic shapes, {options.Workers} workers, {used} libtorch thread(s) ({(threads is null ? "the trainer's choice" : "--threads")}), {(channelsLast ? $"channels-last, pointwise: {path}, BatchNorm: {MemoryLayout.Resolve(batchNorm)}" : "NCHW")}; malloc: {TorchRuntime.LoadedAllocator() ?? "glibc"}");
        Console.WriteLine();
        Console.WriteLine("| epoch | img/s | vs median | bare step right after, img/s | vs median | epoch ÷ bare step | median step | longest step | CPU stolen by the host | GC pauses | 1×1 kernel checks |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
        for (int e = 0; e < epochs; e++)
        {
            var (typical, longest) = clock.StepMilliseconds(e);
            var (steal, gcPause, checks) = clock.Interference(e);
            Console.WriteLine($"| {e + 1} | {rates[e]:0} | {Percent(rates[e], rates)} | {alone[e]:0} | {Percent(alone[e], alone)} | {relative[e]:0.00} | {typical:0.0} ms | {longest:0.0} ms | {steal:0.0} % | {gcPause:0} ms | {checks:0} ms |");
        }
        Console.WriteLine();
        Console.WriteLine($"Largest distance from the median: epochs {Spread(rates):0} %; the bare step alone {Spread(alone):0} %; epoch ÷ bare step {Spread(relative):0} %");
        Console.WriteLine();
        Directory.Delete(output, recursive: true);
    }

    private static string Percent(double value, double[] all) => $"{(int)Math.Round((value / Timing.Median(all) - 1) * 100):+0;-0;0} %";

    private static double Spread(double[] values) => values.Max(v => Math.Abs(v / Timing.Median(values) - 1)) * 100;

    /// <summary>The trainer's step without the loader, on as many steps after the same warm-up; mean images/s.</summary>
    private static double BareSteps(bool channelsLast, int steps)
    {
        // The folder's 4 classes and the released recipe's decay groups, as the Trainer above builds them.
        using var step = new BareTrainingStep(channelsLast, Batch, classes: 4, decayNormAndBias: false);
        for (int i = 0; i < Warmup; i++) step.Run();
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) step.Run();
        return steps * Batch / watch.Elapsed.TotalSeconds;
    }

    /// <summary>Records when every step of every epoch ended.</summary>
    private sealed class StepClock(int batch, Func<int, double>? bareWindow = null) : ITrainingProgress
    {
        private readonly Dictionary<int, List<(long Ticks, int Step)>> _ends = [];
        private readonly Dictionary<int, (CpuTimes Cpu, TimeSpan GcPause, TimeSpan Checks)> _first = [], _last = [];

        public void OnStep(StepReport report)
        {
            if (!_ends.TryGetValue(report.Epoch, out var list)) _ends[report.Epoch] = list = [];
            list.Add((Stopwatch.GetTimestamp(), report.StepInEpoch));
            // the same span ImagesPerSecond counts, from the end of the first step to the end of the last: /proc/stat
            // is read at those two steps only
            if (report.StepInEpoch == 1) _first[report.Epoch] = (CpuTimes.Read(), GC.GetTotalPauseDuration(), MobileNeXt.Layers.PointwiseKernelCheck.CheckTime);
            if (report.StepInEpoch == report.StepsPerEpoch) _last[report.Epoch] = (CpuTimes.Read(), GC.GetTotalPauseDuration(), MobileNeXt.Layers.PointwiseKernelCheck.CheckTime);
        }

        /// <summary>
        /// The share of the machine's CPU time the hypervisor gave to others during <paramref name="epoch"/> (steal in
        /// /proc/stat; NaN where it cannot be read) and how long .NET's garbage collector paused this process.
        /// </summary>
        public (double StealPercent, double GcPauseMs, double ChecksMs) Interference(int epoch)
        {
            var (a, ga, ca) = _first[epoch];
            var (b, gb, cb) = _last[epoch];
            double total = b.Total - a.Total;
            return (total > 0 ? 100.0 * (b.Steal - a.Steal) / total : double.NaN, (gb - ga).TotalMilliseconds, (cb - ca).TotalMilliseconds);
        }

        /// <summary>After each epoch, the bare step's images/s over as many steps as the epoch had (when given one).</summary>
        public List<double> Bare { get; } = [];

        public void OnEpoch(EpochMetrics metrics)
        {
            if (bareWindow is not null) Bare.Add(bareWindow(_ends[metrics.Epoch - 1].Count)); // EpochMetrics counts from 1, StepReport from 0
        }

        public void OnMessage(string message) { }

        /// <summary>The median and the longest time between two consecutive step ends of <paramref name="epoch"/>: a stall shows as one long step.</summary>
        public (double Median, double Longest) StepMilliseconds(int epoch)
        {
            var list = _ends[epoch];
            var gaps = list.Zip(list.Skip(1), (a, b) => (b.Ticks - a.Ticks) * 1000.0 / Stopwatch.Frequency).Order().ToArray();
            return gaps.Length == 0 ? (0, 0) : (gaps[gaps.Length / 2], gaps[^1]);
        }

        /// <summary>
        /// Images/s of <paramref name="epoch"/> (0-based) from the end of step max(<paramref name="from"/>, 1) to the end
        /// of its last: the first step, which waits for the loader's first batch, is never counted.
        /// </summary>
        public double ImagesPerSecond(int epoch, int from)
        {
            var list = _ends[epoch];
            var (t0, s0) = list[Math.Max(from, 1) - 1];
            var (t1, s1) = list[^1];
            return (s1 - s0) * (double)batch / ((t1 - t0) / (double)Stopwatch.Frequency);
        }
    }
}

/// <summary>The machine's CPU time in clock ticks from the first line of /proc/stat: all of it, and the part stolen by the hypervisor.</summary>
internal readonly record struct CpuTimes(long Total, long Steal)
{
    public static CpuTimes Read()
    {
        try
        {
            // "cpu  user nice system idle iowait irq softirq steal guest guest_nice" (proc(5)); guest time is already in user
            var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var values = fields.Skip(1).Take(8).Select(long.Parse).ToArray();
            return new CpuTimes(values.Sum(), values.Length > 7 ? values[7] : 0);
        }
        catch (IOException)
        {
            return new CpuTimes(0, 0);
        }
    }
}

