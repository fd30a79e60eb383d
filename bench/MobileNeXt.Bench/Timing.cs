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
        return Median(samples);
    }

    /// <summary>The median of <paramref name="values"/> (the mean of the middle two for an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
