using static TorchSharp.torch;

namespace MobileNeXt.Layers;

/// <summary>A block that can hand out its expanded (high-dimensional) activation, where detection heads attach.</summary>
public interface IExpansionTap
{
    /// <summary>Runs the block and also returns the expanding pointwise conv's activated output.</summary>
    (Tensor Output, Tensor Expanded) ForwardWithExpandedTap(Tensor x);
}
