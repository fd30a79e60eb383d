namespace MobileNeXt.Detection;

/// <summary>The priors (default boxes) of one feature-map level, in pixels of the square input.</summary>
/// <param name="FeatureMap">Side of the level's square map.</param>
/// <param name="Stride">Pixels between prior centres (the config's STRIDES; not always input / map, e.g. 120 for 3²).</param>
/// <param name="MinSize">Side of the first square prior.</param>
/// <param name="MaxSize">The second square prior's side is √(min · max).</param>
/// <param name="AspectRatios">For each r, two more priors (w√r, h/√r) and (w/√r, h√r) of the min square.</param>
public sealed record PriorLevel(int FeatureMap, int Stride, int MinSize, int MaxSize, IReadOnlyList<int> AspectRatios)
{
    /// <summary>Priors per location: two squares and two per aspect ratio.</summary>
    public int PriorsPerLocation => 2 + 2 * AspectRatios.Count;
}
