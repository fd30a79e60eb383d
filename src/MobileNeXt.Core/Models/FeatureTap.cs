namespace MobileNeXt.Models;

/// <summary>Describes one intermediate feature map a model exposes for detection or segmentation heads.</summary>
/// <param name="Name">Where it is taken, e.g. <c>features.15.conv.4</c>.</param>
/// <param name="Stride">Output stride relative to the input (8, 16 or 32).</param>
/// <param name="Channels">Channels of the map.</param>
public sealed record FeatureTap(string Name, int Stride, int Channels);
