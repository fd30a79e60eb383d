namespace MobileNeXt.Quantization;

/// <summary>The range choices of <see cref="CalibrationMethod.Percentile"/> and <see cref="CalibrationMethod.Entropy"/> on a value's histogram.</summary>
internal static class CalibrationRanges
{
    /// <summary>
    /// [the (100 − p)-th percentile, the p-th percentile] of the values, bin edges of the histogram (a bin's upper edge
    /// for the high end, its lower edge for the low end), never beyond the observed extremes.
    /// </summary>
    public static (float Lo, float Hi) Percentile(TensorStatistics s, double percentile)
    {
        var h = RequireHistogram(s);
        if (percentile is <= 50 or > 100) throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "The percentile must be in (50, 100].");
        double total = h.Sum(c => (double)c);
        if (total == 0) return (s.Min, s.Max);
        double width = 2.0 * s.Limit / h.Length, tail = total * (100 - percentile) / 100;
        int low = 0;
        for (double below = 0; low < h.Length; low++)
        {
            if (below + h[low] > tail) break;
            below += h[low];
        }
        int high = h.Length - 1;
        for (double above = 0; high >= 0; high--)
        {
            if (above + h[high] > tail) break;
            above += h[high];
        }
        float lo = (float)(-s.Limit + low * width), hi = (float)(-s.Limit + (high + 1) * width);
        return (Math.Max(lo, s.Min), Math.Min(hi, s.Max));
    }

    /// <summary>
    /// TensorRT's entropy calibration (Migacz, "8-bit inference with TensorRT", GTC 2017): on the histogram of |x|
    /// (2048 bins), for each candidate threshold of i bins take P = the first i bins with everything beyond added to
    /// the last, and Q = the same bins merged into as many levels as the quantizer has and spread back over their
    /// non-empty bins; the threshold with the least KL(P‖Q) wins, bin 0 (exact zeros) set to bin 1 first. Levels: 128 for a value with both signs (an
    /// asymmetric uint8 quantizer spends about half its 256 levels on each side), 256 for a non-negative one.
    /// The range is [−threshold, threshold] cut to the observed extremes.
    /// </summary>
    public static (float Lo, float Hi) Entropy(TensorStatistics s)
    {
        var h = RequireHistogram(s);
        int half = h.Length / 2;
        var magnitude = new double[half]; // bin j: |x| in [j·w, (j+1)·w), w = Limit / half
        for (int j = 0; j < half; j++) magnitude[j] = h[half + j] + h[half - 1 - j];
        // The spike of exact zeros (ReLU6 outputs, padding) says nothing about where to clip, and left in it drags
        // the threshold down: it is replaced by its neighbour, as NVIDIA's pytorch-quantization entropy calibrator does
        // (calib/histogram.py, _compute_amax_entropy: bins[0] = bins[1]).
        if (half > 1) magnitude[0] = magnitude[1];
        int levels = s.Min >= 0 ? 256 : 128;
        int bins = KlThresholdBins(magnitude, levels);
        float threshold = (float)(s.Limit * bins / half);
        return (Math.Max(-threshold, s.Min), Math.Min(threshold, s.Max));
    }

    /// <summary>The number of leading bins (≥ <paramref name="levels"/>) whose threshold has the least KL divergence.</summary>
    internal static int KlThresholdBins(double[] histogram, int levels)
    {
        int n = histogram.Length;
        if (n <= levels) return n;
        var suffix = new double[n + 1];
        for (int i = n - 1; i >= 0; i--) suffix[i] = suffix[i + 1] + histogram[i];
        if (suffix[0] == 0) return n;
        var p = new double[n];
        var q = new double[n];
        double best = double.PositiveInfinity;
        int bestBins = n;
        for (int i = levels; i <= n; i++)
        {
            // P: the first i bins, the clipped outliers added to the last one.
            Array.Copy(histogram, p, i);
            p[i - 1] += suffix[i];
            // Q: the first i bins merged into `levels` groups, each group's mass spread evenly over its non-empty bins.
            double merged = (double)i / levels;
            for (int level = 0; level < levels; level++)
            {
                int start = (int)(level * merged), end = level == levels - 1 ? i : (int)((level + 1) * merged);
                double mass = 0;
                int nonEmpty = 0;
                for (int k = start; k < end; k++)
                {
                    mass += histogram[k];
                    if (histogram[k] != 0) nonEmpty++;
                }
                for (int k = start; k < end; k++) q[k] = histogram[k] != 0 ? mass / nonEmpty : 0;
            }
            double pSum = 0, qSum = 0;
            for (int k = 0; k < i; k++) { pSum += p[k]; qSum += q[k]; }
            if (qSum == 0) continue;
            double kl = 0;
            for (int k = 0; k < i; k++)
            {
                if (p[k] == 0) continue;
                double pk = p[k] / pSum, qk = q[k] / qSum;
                // A bin P has and Q lost (only the outlier bin can be one): a large finite penalty, as smoothing would give.
                kl += pk * Math.Log(pk / Math.Max(qk, 1e-12));
            }
            if (kl < best)
            {
                best = kl;
                bestBins = i;
            }
        }
        return bestBins;
    }

    private static long[] RequireHistogram(TensorStatistics s) =>
        s.Histogram.Length == CalibrationStatistics.Bins ? s.Histogram
            : throw new InvalidOperationException("These calibration statistics hold no histograms (collected for MinMax only); calibrate again with the Percentile or Entropy method.");
}
