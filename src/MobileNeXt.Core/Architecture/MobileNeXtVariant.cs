namespace MobileNeXt.Architecture;

/// <summary>Which block layout a MobileNeXt network uses at each position.</summary>
public enum MobileNeXtVariant
{
    /// <summary>
    /// The network of the authors' released code, whose checkpoints load unchanged: the block's layers
    /// depend on its position (architecture.md, "Which layers a block has"). The default.
    /// </summary>
    Released,

    /// <summary>
    /// The paper's Table 1 block at every position: dw + ReLU6, pw reduce (linear, M/t channels),
    /// pw expand + ReLU6, dw (linear, stride s); a shortcut iff input and output channels match and the stride is 1.
    /// </summary>
    Uniform,
}
