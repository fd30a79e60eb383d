namespace MobileNeXt.Training.Data;

/// <summary>
/// Derives independent <see cref="Random"/> seeds from tuples such as (seed, epoch, sample index), so every random
/// draw of the data pipeline depends only on those values and never on thread timing or a global generator.
/// </summary>
public static class SeedMixer
{
    /// <summary>A seed for <see cref="Random(int)"/> that depends on every one of <paramref name="parts"/> and their order.</summary>
    public static int Mix(params ReadOnlySpan<long> parts)
    {
        ulong h = 0x9E3779B97F4A7C15UL;
        foreach (var part in parts)
            h = SplitMix64(h ^ (ulong)part);
        return (int)(h >> 33); // 31 bits: non-negative, so Random(int) does not fold two seeds onto one
    }

    /// <summary>A generator seeded by <see cref="Mix"/> of <paramref name="parts"/>.</summary>
    public static Random CreateRandom(params ReadOnlySpan<long> parts) => new(Mix(parts));

    // SplitMix64's finaliser (Steele, Lea and Flood, OOPSLA 2014): a bijection with full avalanche.
    private static ulong SplitMix64(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
