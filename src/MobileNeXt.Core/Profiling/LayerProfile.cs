namespace MobileNeXt.Profiling;

/// <summary>One module's cost for a single image.</summary>
/// <param name="Name">The module's state_dict path, e.g. <c>features.3.conv.5</c>.</param>
/// <param name="Kind">The module type, e.g. <c>Conv2d</c>, <c>BatchNorm2d</c>, <c>SandglassBlock</c>.</param>
/// <param name="InputShape">Input shape (batch 1).</param>
/// <param name="OutputShape">Output shape (batch 1).</param>
/// <param name="Params">Parameters of this module and its children.</param>
/// <param name="Macs">Conv and linear multiply-accumulates of this module and its children.</param>
/// <param name="ElementwiseOps">Element-wise operations (BatchNorm, activations, shortcut additions, pooling) of this module and its children.</param>
public sealed record LayerProfile(string Name, string Kind, long[] InputShape, long[] OutputShape, long Params, long Macs, long ElementwiseOps)
{
    /// <summary>Whether the module has no child modules (a conv, a norm, an activation…).</summary>
    public bool IsLeaf { get; init; }
}
