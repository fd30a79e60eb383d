namespace MobileNeXt.Detection;

/// <summary>Where SSDLite takes one of its two backbone maps.</summary>
/// <param name="Index">Index into the classifier's <c>features</c> (block i of MobileNeXt is <c>features.i</c>).</param>
/// <param name="Expanded">Take the block's expansion (its expanding pointwise conv after BN and ReLU6, before the
/// depthwise conv that follows) rather than its output.</param>
public readonly record struct BackboneTap(int Index, bool Expanded);
