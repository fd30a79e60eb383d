namespace MobileNeXt.Architecture;

/// <summary>
/// One block as data: its layout (the sandglass block unless <see cref="Layout"/> says otherwise), which of the
/// layout's depthwise convs on its ends it has, its widths, stride and shortcut.
/// </summary>
/// <param name="InChannels">Input channels M.</param>
/// <param name="OutChannels">Output channels N.</param>
/// <param name="HiddenChannels">Width after the reducing pointwise conv.</param>
/// <param name="Stride">Stride of the last depthwise conv (1 or 2).</param>
/// <param name="FirstDepthwise">Whether the layout's first depthwise conv is built, when it has two (the released network drops the sandglass block's first dw at some positions).</param>
/// <param name="LastDepthwise">Whether the layout's last depthwise conv is built, when it has two.</param>
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
    /// <summary>The conv sequence. Default <see cref="BlockLayout.Sandglass"/>.</summary>
    public BlockLayout Layout { get; init; } = BlockLayout.Sandglass;

    /// <summary>Channels of one of the block's tensors.</summary>
    public int Channels(BlockTensor tensor) => tensor switch
    {
        BlockTensor.Input => InChannels,
        BlockTensor.Hidden => HiddenChannels,
        _ => OutChannels,
    };

    /// <summary>Whether the block builds step <paramref name="index"/> of its layout.</summary>
    public bool Builds(int index)
    {
        var step = Layout.Steps[index];
        if (step.Depthwise && Layout.DepthwiseConvs > 1)
        {
            var depthwise = Enumerable.Range(0, Layout.Steps.Count).Where(i => Layout.Steps[i].Depthwise).ToList();
            if (index == depthwise[0] && !FirstDepthwise) return false;
            if (index == depthwise[^1] && !LastDepthwise) return false;
        }
        return !(step.OmittedWhenSameWidth && Channels(step.From) == Channels(step.To));
    }

    /// <summary>
    /// Index, in the block's layer Sequential (convs, norms and ReLU6 modules), of the last module of the conv that
    /// writes the wide tensor: the expansion tap's module (<c>conv.7</c> for a full sandglass block).
    /// </summary>
    public int ExpansionLayerIndex()
    {
        int modules = 0;
        for (int i = 0; i <= Layout.ExpansionStep; i++)
        {
            if (Builds(i)) modules += Layout.Steps[i].Activated ? 3 : 2;
        }
        return modules - 1;
    }

    /// <summary>Channels of the expansion tap: the wide tensor.</summary>
    public int ExpansionChannels => Channels(Layout.Steps[Layout.ExpansionStep].To);

    /// <summary>Whether the wide tensor is written before the stride, i.e. at the block's input resolution.</summary>
    public bool ExpandsBeforeStride => Layout.ExpansionStep < Layout.StrideStep;

    /// <summary>A compact description, e.g. <c>192&gt;192 h32 +id</c> (architecture.md's notation).</summary>
    public override string ToString() =>
        $"{InChannels}>{OutChannels} h{HiddenChannels}{(Stride != 1 ? $" s{Stride}" : "")}{(HasShortcut ? " +id" : "")}";
}
