using System.Diagnostics;
using System.Globalization;
using MobileNeXt.Inference;
using MobileNeXt.Models;
using MobileNeXt.Training.Data;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Bench;

/// <summary>
/// Issue 3's benchmarks: the data pipeline's images/s (decode + Inception crop + flip + ColorJitter + normalise) with
/// 1 and 2 workers beside PIL + torchvision's DataLoader, and a training step of mobilenext_100 at batch 32 beside
/// PyTorch eager on the same network and optimiser.
/// </summary>
internal static class TrainingBenchmark
{
    public static void Data(int images)
    {
        string root = Directory.CreateTempSubdirectory("mobilenext-data-bench").FullName;
        WriteJpegFolder(root, images);
        Console.WriteLine($"# Data pipeline: {images} JPEGs of 500×375 (ImageNet's typical size), batch 32, training transform at 224²");
        Console.WriteLine();
        torch.set_num_threads(1);
        var dataset = new ImageFolderDataset(root);
        DecodeOnly(dataset);
        Console.WriteLine($"Whole pipeline (decode with {ImageDecoding.JpegDecoder}, Inception crop, flip, ColorJitter, normalise):");
        Console.WriteLine();
        Console.WriteLine("| workers | PyTorch DataLoader + PIL img/s | this pipeline img/s | ratio |");
        Console.WriteLine("|---|---|---|---|");
        foreach (int workers in new[] { 1, 2 })
        {
            var (_, torchSeconds) = PyTorchPeer.Run("data", root, workers.ToString(CultureInfo.InvariantCulture), "32");
            var loader = new ReadAheadLoader(dataset, new InceptionTrainTransform(), new EpochSampler(dataset.Count, new EpochSamplerOptions { Seed = 1 }),
                new ReadAheadLoaderOptions { BatchSize = 32, Workers = workers, Seed = 1 });
            foreach (var batch in loader.ReadEpoch(0)) batch.Dispose(); // warm-up, as the peer's
            long start = Stopwatch.GetTimestamp();
            int count = 0;
            foreach (var batch in loader.ReadEpoch(1)) { count += batch.Count; batch.Dispose(); }
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            double ours = count / seconds, theirs = images / torchSeconds;
            Console.WriteLine($"| {workers} | {theirs:0} | {ours:0} | {ours / theirs:0.00}× |");
        }
        Directory.Delete(root, recursive: true);
        Console.WriteLine();
    }

    /// <summary>
    /// JPEG decoding alone, one thread, file read included on every side: PIL (the peer's loader call), this library's
    /// decoder, and SkiaSharp's (the fallback). Three interleaved rounds, the best of each, so a burst of load elsewhere
    /// on the machine hits every side alike.
    /// </summary>
    private static void DecodeOnly(ImageFolderDataset dataset)
    {
        var paths = Enumerable.Range(0, dataset.Count).Select(dataset.GetPath).ToArray();
        double Time(Func<string, SKBitmap> decode)
        {
            long start = Stopwatch.GetTimestamp();
            foreach (var p in paths) decode(p).Dispose();
            return Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        SKBitmap Skia(string p) => ImageDecoding.Decode(File.ReadAllBytes(p), p, useTurboJpeg: false);
        Time(ImageDecoding.DecodeRgb); // warm-up: page cache, JIT
        Time(Skia);
        double pil = double.MaxValue, ours = double.MaxValue, skia = double.MaxValue;
        for (int round = 0; round < 3; round++)
        {
            pil = Math.Min(pil, PyTorchPeer.Run("data", dataset.Root, "0", "32").Seconds);
            ours = Math.Min(ours, Time(ImageDecoding.DecodeRgb));
            skia = Math.Min(skia, Time(Skia));
        }
        double perImage = 1000.0 / paths.Length;
        Console.WriteLine("JPEG decode only, 1 thread (best of 3 interleaved rounds):");
        Console.WriteLine();
        Console.WriteLine("| decoder | ms / image | speed vs PIL |");
        Console.WriteLine("|---|---|---|");
        Console.WriteLine($"| PIL `Image.open(p).convert(\"RGB\")` | {pil * perImage:0.00} | 1.00× |");
        Console.WriteLine($"| this library ({ImageDecoding.JpegDecoder}) | {ours * perImage:0.00} | {pil / ours:0.00}× |");
        Console.WriteLine($"| SkiaSharp (the fallback) | {skia * perImage:0.00} | {pil / skia:0.00}× |");
        Console.WriteLine();
    }

    /// <summary>
    /// Only this library's step, no peer: the process to attach a profiler (perf) to. Prints each step's time, the
    /// process's minor page faults so far and its resident memory, then the bytes the allocator had handed out and not
    /// had back after the forward and after the backward pass (<see cref="HeapInUse"/>), then the median.
    /// <paramref name="path"/> is <c>nchw</c> (the default layout) or a <see cref="PointwiseConvolutionPath"/> for a
    /// channels-last step.
    /// </summary>
    public static void StepAlone(int threads, int iterations, string path = "auto")
    {
        torch.set_num_threads(threads);
        bool nchw = path == "nchw";
        if (!nchw) MemoryLayout.PointwiseConvolutions = Enum.Parse<PointwiseConvolutionPath>(path, ignoreCase: true);
        using var step = new BareTrainingStep(channelsLast: !nchw);
        var trace = new List<string>();
        var inUse = new List<string>();
        var samples = new double[iterations];
        for (int i = 0; i < iterations; i++)
        {
            var passes = new List<long>();
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            step.Run(_ => passes.Add(HeapInUse() >> 20));
            samples[i] = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
            trace.Add($"{samples[i]:0.000}/{MinorFaults() / 1000}k/{Environment.WorkingSet >> 20}M");
            inUse.Add(string.Join('/', passes));
        }
        Console.WriteLine("step s / minor page faults so far / resident MiB: " + string.Join(' ', trace));
        Console.WriteLine("MiB in use after forward / after backward: " + string.Join(' ', inUse));
        double s = Timing.Median(samples);
        Console.WriteLine($"TorchSharp {(nchw ? "NCHW" : $"channels-last ({MemoryLayout.EffectivePointwiseConvolutions} pointwise, {MemoryLayout.EffectiveBatchNorm} BatchNorm)")} step, malloc {TorchRuntime.LoadedAllocator() ?? "glibc"}: {s:0.000} s, {32 / s:0.0} img/s");
    }

    /// <summary>
    /// libtorch's BatchNorm against this library's fused BatchNorm + ReLU6 in one channels-last step, one model, the
    /// path switched step by step (ABBA order after two warm-up steps of each), so a change in the machine's speed
    /// lands on both alike: prints each pair's ratio, the medians and the median of the ratios.
    /// </summary>
    public static void StepBatchNormPaths(int threads, int pairs, string model = "mobilenext_100", int inputSize = 224, int batch = 32)
    {
        torch.set_num_threads(threads);
        using var step = new BareTrainingStep(channelsLast: true, batch: batch, model: model, inputSize: inputSize);
        double Once(BatchNormPath path)
        {
            MemoryLayout.BatchNorm = path;
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            step.Run();
            return System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        for (int i = 0; i < 2; i++) { Once(BatchNormPath.LibTorch); Once(BatchNormPath.Fused); }
        var libtorch = new double[pairs];
        var fused = new double[pairs];
        var ratios = new double[pairs];
        for (int i = 0; i < pairs; i++)
        {
            if (i % 2 == 0) { libtorch[i] = Once(BatchNormPath.LibTorch); fused[i] = Once(BatchNormPath.Fused); }
            else { fused[i] = Once(BatchNormPath.Fused); libtorch[i] = Once(BatchNormPath.LibTorch); }
            ratios[i] = libtorch[i] / fused[i];
        }
        MemoryLayout.BatchNorm = BatchNormPath.Auto;
        Console.WriteLine($"# {model}, {inputSize}², batch {batch}, {threads} thread(s), channels-last, {MemoryLayout.EffectivePointwiseConvolutions} pointwise; malloc {TorchRuntime.LoadedAllocator() ?? "glibc"}; GOMP_SPINCOUNT={Environment.GetEnvironmentVariable("GOMP_SPINCOUNT") ?? "unset"}, OMP_WAIT_POLICY={Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") ?? "unset"}; fused BatchNorm on {(MobileNeXt.Layers.LibTorchThreads.UsesLibTorchThreads ? "libtorch's OpenMP threads" : ".NET's pool")}");
        Console.WriteLine("fused speed vs libtorch, pair by pair: " + string.Join(' ', ratios.Select(r => r.ToString("0.00", CultureInfo.InvariantCulture))));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"median step: libtorch BatchNorm {Timing.Median(libtorch):0.000} s, fused {Timing.Median(fused):0.000} s; median of the pairs' ratios {Timing.Median(ratios):0.00}×"));
    }

    /// <summary>
    /// Bytes the process's allocator has handed out and not had back, by its own count: tcmalloc's
    /// <c>generic.current_allocated_bytes</c> when it serves the process, else glibc's <c>mallinfo2</c> (in its arenas
    /// plus mmapped alone).
    /// </summary>
    internal static long HeapInUse()
    {
        if (TorchRuntime.LoadedAllocator() == "tcmalloc")
            return MallocExtension_GetNumericProperty("generic.current_allocated_bytes", out var bytes) != 0 ? (long)bytes : -1;
        var info = MallInfo2();
        return (long)info.AllocatedBytes + (long)info.MmappedBytes;
    }

    [System.Runtime.InteropServices.DllImport("libtcmalloc_minimal.so.4")]
    private static extern int MallocExtension_GetNumericProperty(string name, out nuint value);

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct MallocInfo
    {
        public nuint Arena, OrdinaryBlocks, SmallBlocks, MmappedBlocks, MmappedBytes, MaxAllocated, SmallFreeBytes, AllocatedBytes, FreeBytes, Releasable;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "mallinfo2")]
    private static extern MallocInfo MallInfo2();

    /// <summary>The process's minor page faults so far (/proc/self/stat, field 10).</summary>
    internal static long MinorFaults()
    {
        string stat = File.ReadAllText("/proc/self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[7], CultureInfo.InvariantCulture);
    }

    public static void Step(int threads, int iterations)
    {
        torch.set_num_threads(threads);
        // Both layouts on both sides, alternated, so a change in the machine's load shows in every ratio alike.
        string t = threads.ToString(CultureInfo.InvariantCulture), n = iterations.ToString(CultureInfo.InvariantCulture);
        var (version, torchNchw) = PyTorchPeer.Run("train", "1.0", "32", t, n, "nchw");
        double oursNchw = OurStep(channelsLast: false, iterations);
        var (_, torchNhwc) = PyTorchPeer.Run("train", "1.0", "32", t, n, "channels_last");
        double oursNhwc = OurStep(channelsLast: true, iterations);
        Console.WriteLine($"# Training step, mobilenext_100, batch 32, 224², {threads} threads, median of {iterations} steps");
        Console.WriteLine();
        Console.WriteLine("| | s / step | img/s | img/s vs PyTorch NCHW | img/s vs PyTorch channels-last |");
        Console.WriteLine("|---|---|---|---|---|");
        void Row(string name, double s) =>
            Console.WriteLine($"| {name} | {s:0.000} | {32 / s:0.0} | {torchNchw / s:0.00}× | {torchNhwc / s:0.00}× |");
        Row($"PyTorch {version} eager, NCHW", torchNchw);
        Row($"PyTorch {version} eager, channels-last input", torchNhwc);
        Row("TorchSharp, NCHW", oursNchw);
        Row("TorchSharp, channels-last input (the trainer's default)", oursNhwc);
        Console.WriteLine();
    }

    /// <summary>
    /// The channels-last step with each way of computing its pointwise convolutions
    /// (<see cref="MemoryLayout.PointwiseConvolutions"/>) on one model and batch: Checked (libtorch's kernel where it
    /// is right) against the default matrix product. The paths alternate in blocks of 4 steps (A B B A per
    /// round), and each block's first step is not counted: the step after a switch allocates buffers of other sizes,
    /// and page faults on those would be charged to whichever path came second. Also says how many layer shapes the
    /// check refused.
    /// </summary>
    public static void StepPointwise(int threads, int rounds)
    {
        const int Block = 4;
        torch.set_num_threads(threads);
        using var step = new BareTrainingStep(channelsLast: true);
        var paths = new[] { PointwiseConvolutionPath.Checked, PointwiseConvolutionPath.MatrixProduct };
        var seconds = paths.ToDictionary(p => p, _ => new List<double>());
        var before = MemoryLayout.PointwiseConvolutions;
        try
        {
            foreach (var p in paths) { MemoryLayout.PointwiseConvolutions = p; step.Run(); } // warm-up, and the checks
            for (int r = 0; r < rounds; r++)
                foreach (var p in new[] { paths[0], paths[1], paths[1], paths[0] })
                {
                    MemoryLayout.PointwiseConvolutions = p;
                    for (int i = 0; i < Block; i++)
                    {
                        var clock = System.Diagnostics.Stopwatch.StartNew();
                        step.Run();
                        if (i > 0) seconds[p].Add(clock.Elapsed.TotalSeconds);
                    }
                }
        }
        finally
        {
            MemoryLayout.PointwiseConvolutions = before;
        }
        double Median(PointwiseConvolutionPath p) => Timing.Median(seconds[p]);
        var (checkedKeys, wrong) = MobileNeXt.Layers.PointwiseKernelCheck.Counts;
        Console.WriteLine($"# Channels-last training step, mobilenext_100, batch 32, 224², {threads} threads: pointwise convolutions, median of {seconds[paths[0]].Count} steps each, alternated in blocks; malloc: {TorchRuntime.LoadedAllocator() ?? "glibc"}");
        Console.WriteLine();
        Console.WriteLine("| pointwise path | s / step | img/s | vs matrix product |");
        Console.WriteLine("|---|---|---|---|");
        Console.WriteLine($"| checked (libtorch's kernel; refused for {wrong} of {checkedKeys} shapes; the default under tcmalloc) | {Median(paths[0]):0.000} | {32 / Median(paths[0]):0.0} | {Median(paths[1]) / Median(paths[0]):0.00}× |");
        Console.WriteLine($"| matrix product (the default under glibc's malloc) | {Median(paths[1]):0.000} | {32 / Median(paths[1]):0.0} | 1.00× |");
        Console.WriteLine();
    }

    private static double OurStep(bool channelsLast, int iterations)
    {
        using var step = new BareTrainingStep(channelsLast);
        return Timing.MedianSeconds(() => step.Run(), iterations, warmup: 2);
    }

    /// <summary>Four classes of 500×375 JPEGs with gradients and noise, so decoding costs what a photograph does.</summary>
    internal static void WriteJpegFolder(string root, int images)
    {
        var random = new Random(7);
        for (int i = 0; i < images; i++)
        {
            string folder = Path.Combine(root, $"class{i % 4}");
            Directory.CreateDirectory(folder);
            using var bitmap = new SKBitmap(500, 375, SKColorType.Rgba8888, SKAlphaType.Opaque);
            var pixels = bitmap.GetPixelSpan();
            for (int p = 0; p < pixels.Length; p += 4)
            {
                int x = p / 4 % 500, yy = p / 4 / 500;
                pixels[p] = (byte)(x / 2 + random.Next(40));
                pixels[p + 1] = (byte)(yy / 2 + random.Next(40));
                pixels[p + 2] = (byte)((x + yy + i * 10) % 256);
                pixels[p + 3] = 255;
            }
            using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
            File.WriteAllBytes(Path.Combine(folder, $"{i:D5}.jpg"), data.ToArray());
        }
    }
}
