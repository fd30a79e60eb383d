using System.Globalization;
using MobileNeXt;
using MobileNeXt.Bench;

// dotnet run --project bench/MobileNeXt.Bench -c Release -- inference [threads=2] [iterations=20]
//                                                         -- int8 [threads=2] [iterations=20] [models=mobilenext_100,mobilenetv2_100]
//                                                         -- detect [threads=2] [iterations=20]
//                                                         -- data [images=512]
//                                                         -- train-step [threads=2] [iterations=10]
//                                                         -- train-step-pointwise [threads=2] [rounds=4]
//                                                         -- pointwise-layers [model=mobilenext_100] [input=224] [batch=32] [threads=2] [rounds=9]
//                                                         -- train-fed [steps=12] [workers=1]
//                                                         -- train-step-alone [threads=2] [iterations=10] [auto|matrixproduct|checked|onednn|nchw] [batchnorm=auto|libtorch|fused]
//                                                         -- batchnorm-step [threads=2] [pairs=8] [model=mobilenext_100] [size=224] [batch=32]
//                                                         -- batchnorm-layers [threads=2] [rounds=9]
//                                                         -- train-steady [epochs=6] [threads|auto] [channels-last=true] [pointwise=auto|matrixproduct|checked|onednn] [images=2000] [batchnorm=auto|libtorch|fused]
// Both sides run on one allocator: tcmalloc where it is installed (TorchRuntime.UseTcmalloc restarts this process with
// it preloaded, and the PyTorch peer inherits the same LD_PRELOAD), else glibc's malloc with freed memory kept for reuse
// (TorchRuntime.RetainFreedMemory here, the same glibc tunables for the peer). MOBILENEXT_ALLOCATOR=glibc skips
// tcmalloc; with it, MOBILENEXT_MALLOC=default measures glibc's defaults on both sides instead.
bool retain = Environment.GetEnvironmentVariable("MOBILENEXT_MALLOC") != "default";
if (retain) TorchRuntime.UseTcmalloc();
if (retain) TorchRuntime.RetainFreedMemory();
PyTorchPeer.RetainFreedMemory = retain;
Console.WriteLine(TorchRuntime.LoadedAllocator() is { } allocator
    ? $"(malloc: {allocator} on both sides — preloaded here by TorchRuntime.UseTcmalloc, inherited by the PyTorch peer)"
    : retain
        ? "(malloc: glibc, freed memory kept for reuse on both sides — TorchRuntime.RetainFreedMemory / GLIBC_TUNABLES for PyTorch)"
        : "(malloc: glibc defaults on both sides)");
TorchRuntime.EnsureAvailable();
string mode = args.Length > 0 ? args[0] : "inference";
// Positional numbers mean different things per scenario; each reads its own, so a word such as "auto" is only parsed where it is meant.
switch (mode)
{
    case "inference":
        InferenceBenchmark.Run(Arg(1, 2), Arg(2, 20));
        return 0;
    case "int8":
        Int8Benchmark.Run(Arg(1, 2), Arg(2, 20), args.Length > 3 ? args[3].Split(',') : ["mobilenext_100", "mobilenetv2_100"]);
        return 0;
    case "detect":
        DetectionBenchmark.Run(Arg(1, 2), Arg(2, 20));
        return 0;
    case "data":
        TrainingBenchmark.Data(Arg(1, 512));
        return 0;
    case "train-step":
        TrainingBenchmark.Step(Arg(1, 2), Arg(2, 10));
        return 0;
    case "train-step-pointwise":
        TrainingBenchmark.StepPointwise(Arg(1, 2), Arg(2, 4));
        return 0;
    case "train-step-alone":
        if (args.Length > 4) MemoryLayout.BatchNorm = Enum.Parse<BatchNormPath>(args[4], ignoreCase: true);
        TrainingBenchmark.StepAlone(Arg(1, 2), Arg(2, 10), args.Length > 3 ? args[3] : "auto");
        return 0;
    case "batchnorm-step":
        TrainingBenchmark.StepBatchNormPaths(Arg(1, 2), Arg(2, 8), args.Length > 3 ? args[3] : "mobilenext_100", Arg(4, 224), Arg(5, 32));
        return 0;
    case "batchnorm-layers":
        BatchNormBenchmark.Run(Arg(1, 2), Arg(2, 9));
        return 0;
    case "pointwise-layers":
        PointwiseLayersBenchmark.Run(args.Length > 1 ? args[1] : "mobilenext_100", Arg(2, 224), Arg(3, 32), Arg(4, 2), Arg(5, 9));
        return 0;
    case "train-fed":
        EndToEndBenchmark.Fed(Arg(1, 12), Arg(2, 1));
        return 0;
    case "train-steady":
        EndToEndBenchmark.Steady(Arg(1, 6), args.Length > 2 && args[2] != "auto" ? Arg(2, 0) : null, args.Length <= 3 || bool.Parse(args[3]),
            args.Length > 4 ? Enum.Parse<PointwiseConvolutionPath>(args[4], ignoreCase: true) : PointwiseConvolutionPath.Auto, Arg(5, 2000),
            args.Length > 6 ? Enum.Parse<BatchNormPath>(args[6], ignoreCase: true) : BatchNormPath.Auto);
        return 0;
    default:
        Console.Error.WriteLine($"error: unknown benchmark '{mode}'; use: inference | int8 | detect | data | train-step | train-step-pointwise | train-step-alone | batchnorm-step | batchnorm-layers | pointwise-layers | train-fed | train-steady");
        return 2;
}

int Arg(int index, int fallback) => args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : fallback;
