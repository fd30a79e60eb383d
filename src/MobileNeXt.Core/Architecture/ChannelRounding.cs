namespace MobileNeXt.Architecture;

/// <summary>The one rounding rule for channel counts under a width multiplier.</summary>
public static class ChannelRounding
{
    /// <summary>
    /// Rounds <paramref name="value"/> to the nearest multiple of <paramref name="divisor"/>, never below
    /// <paramref name="divisor"/>, and adds one more <paramref name="divisor"/> when rounding down lost more
    /// than 10 % (architecture.md, "Channels"; the same rule as torchvision's <c>_make_divisible</c>).
    /// </summary>
    public static int MakeDivisible(double value, int divisor = 8)
    {
        if (divisor <= 0) throw new ArgumentOutOfRangeException(nameof(divisor), divisor, "The divisor must be positive.");
        int rounded = Math.Max(divisor, (int)Math.Floor(value + divisor / 2.0) / divisor * divisor);
        if (rounded < 0.9 * value) rounded += divisor;
        return rounded;
    }
}
