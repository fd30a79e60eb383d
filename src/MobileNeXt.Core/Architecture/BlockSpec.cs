namespace MobileNeXt.Architecture;

/// <summary>
/// One sandglass block as data: which of Table 1's layers it has, its widths, stride and shortcut.
/// </summary>
/// <param name="InChannels">Input channels M.</param>
/// <param name="OutChannels">Output channels N.</param>
/// <param name="HiddenChannels">Width after the reducing pointwise conv.</param>
/// <param name="Stride">Stride of the last depthwise conv (1 or 2).</param>
/// <param name="FirstDepthwise">Whether the block starts with a 3×3 depthwise conv + BN + ReLU6.</param>
/// <param name="LastDepthwise">Whether the block ends with a linear 3×3 depthwise conv + BN (carrying the stride).</param>
/// <param name="HasShortcut">Whether the block adds its input back (through the identity tensor multiplier).</param>
public sealed record BlockSpec(
    int InChannels,
    int OutChannels,
    int HiddenChannels,
    int Stride,
    bool FirstDepthwise,
    bool LastDepthwise,
    bool HasShortcut)
{
    /// <summary>A compact description, e.g. <c>192&gt;192 h32 +id</c> (architecture.md's notation).</summary>
    public override string ToString() =>
        $"{InChannels}>{OutChannels} h{HiddenChannels}{(Stride != 1 ? $" s{Stride}" : "")}{(HasShortcut ? " +id" : "")}";
}
