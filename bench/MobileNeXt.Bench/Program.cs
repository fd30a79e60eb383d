using System.Globalization;
using MobileNeXt;
using MobileNeXt.Bench;

// dotnet run --project bench/MobileNeXt.Bench -c Release -- inference [threads=2] [iterations=20]
//                                                         -- data [images=512]
//                                                         -- train-step [threads=2] [iterations=10]
//                                                         -- train-fed [steps=12] [workers=1]
//                                                         -- train-steady [epochs=6] [threads=libtorch's default]
// Both sides run with freed memory kept for reuse (TorchRuntime.RetainFreedMemory here, the same glibc tunables for the
// PyTorch peer); MOBILENEXT_MALLOC=default measures glibc's defaults on both sides instead.
bool retain = Environment.GetEnvironmentVariable("MOBILENEXT_MALLOC") != "default";
if (retain) TorchRuntime.RetainFreedMemory();
PyTorchPeer.RetainFreedMemory = retain;
Console.WriteLine(retain
    ? "(malloc: freed memory kept for reuse on both sides — TorchRuntime.RetainFreedMemory / GLIBC_TUNABLES for PyTorch)"
    : "(malloc: glibc defaults on both sides)");
TorchRuntime.EnsureAvailable();
string mode = args.Length > 0 ? args[0] : "inference";
int threads = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2;
int iterations = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 20;
switch (mode)
{
    case "inference":
        InferenceBenchmark.Run(threads, iterations);
        return 0;
    case "data":
        TrainingBenchmark.Data(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 512);
        return 0;
    case "train-step":
        TrainingBenchmark.Step(threads, args.Length > 2 ? iterations : 10);
        return 0;
    case "train-step-alone":
        TrainingBenchmark.StepAlone(threads, args.Length > 2 ? iterations : 10);
        return 0;
    case "train-fed":
        EndToEndBenchmark.Fed(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 12,
            args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1);
        return 0;
    case "train-steady":
        EndToEndBenchmark.Steady(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 6,
            args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : null);
        return 0;
    default:
        Console.Error.WriteLine($"error: unknown benchmark '{mode}'; use: inference | data | train-step | train-fed | train-steady");
        return 2;
}
