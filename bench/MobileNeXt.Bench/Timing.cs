using System.Diagnostics;

namespace MobileNeXt.Bench;

/// <summary>
/// Median wall time of a call after warm-up. Hand-written rather than BenchmarkDotNet because every figure here is a
/// ratio against a PyTorch process timed the same way in the same run, which BenchmarkDotNet cannot host.
/// </summary>
internal static class Timing
{
    public static double MedianSeconds(Action action, int iterations, int warmup = 3)
    {
        for (int i = 0; i < warmup; i++) action();
        var samples = new double[iterations];
        for (int i = 0; i < iterations; i++)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            samples[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        Array.Sort(samples);
        return iterations % 2 == 1 ? samples[iterations / 2] : (samples[iterations / 2 - 1] + samples[iterations / 2]) / 2;
    }
}
