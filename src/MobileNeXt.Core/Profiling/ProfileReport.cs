namespace MobileNeXt.Profiling;

/// <summary>
/// Parameters and operations of a network for one image. MACs follow architecture.md's convention, which reproduces
/// the paper's MobileNetV2 rows: conv <c>Cout·Hout·Wout·(Cin/groups)·kh·kw</c> plus linear <c>in·out</c>.
/// Element-wise operations are counted apart: one per output element of each BatchNorm and activation, one per
/// channel·pixel that a shortcut adds (⌊αC⌋·H·W, so α shows here), one per input element of the global pooling.
/// </summary>
/// <param name="InputSize">Input side the network was profiled at.</param>
/// <param name="Modules">Every module in execution order (containers before their children).</param>
/// <param name="TotalParams">All parameters of the network.</param>
/// <param name="TotalMacs">Conv + linear multiply-accumulates.</param>
/// <param name="TotalElementwiseOps">Element-wise operations.</param>
public sealed record ProfileReport(int InputSize, IReadOnlyList<LayerProfile> Modules, long TotalParams, long TotalMacs, long TotalElementwiseOps)
{
    /// <summary>MACs plus element-wise operations: the full count.</summary>
    public long TotalOps => TotalMacs + TotalElementwiseOps;

    /// <summary>The leaf modules (convs, norms, activations, linear…), in execution order.</summary>
    public IEnumerable<LayerProfile> Layers => Modules.Where(m => m.IsLeaf);

    /// <summary>The entry of one module by its name, e.g. <c>features.5</c>.</summary>
    public LayerProfile this[string name] =>
        Modules.FirstOrDefault(m => m.Name == name) ?? throw new KeyNotFoundException($"No module named '{name}' was profiled.");
}
