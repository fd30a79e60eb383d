using System.Globalization;
using MobileNeXt;
using MobileNeXt.Bench;

// dotnet run --project bench/MobileNeXt.Bench -c Release -- inference [threads=2] [iterations=20]
TorchRuntime.EnsureAvailable();
string mode = args.Length > 0 ? args[0] : "inference";
int threads = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2;
int iterations = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 20;
switch (mode)
{
    case "inference":
        InferenceBenchmark.Run(threads, iterations);
        return 0;
    default:
        Console.Error.WriteLine($"error: unknown benchmark '{mode}'; use: inference");
        return 2;
}
