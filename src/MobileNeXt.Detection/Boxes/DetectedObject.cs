namespace MobileNeXt.Detection.Boxes;

/// <summary>One detected object: a box in pixels of the detector's input (corners, not clipped), its class and score.</summary>
/// <param name="X1">Left edge.</param>
/// <param name="Y1">Top edge.</param>
/// <param name="X2">Right edge.</param>
/// <param name="Y2">Bottom edge.</param>
/// <param name="Label">Class index into the detector's classes, 1 … classes − 1 (0, the background, is never reported).</param>
/// <param name="Score">The class's softmax probability.</param>
public sealed record DetectedObject(float X1, float Y1, float X2, float Y2, int Label, float Score);
