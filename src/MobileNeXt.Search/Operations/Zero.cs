using MobileNeXt.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Search.Operations;

/// <summary>
/// DARTS's <c>none</c>: zeros of the output's shape (every stride-th pixel of the input times 0; quark0/darts
/// <c>cnn/operations.py</c>, <c>Zero</c>). Multiplying rather than allocating keeps NaN and Inf visible, as DARTS does.
/// </summary>
public sealed class Zero : nn.Module<Tensor, Tensor>
{
    private readonly int stride;

    /// <summary>Zeros at stride <paramref name="stride"/>.</summary>
    public Zero(int stride) : base(nameof(Zero))
    {
        SearchOperations.ValidateStride(stride);
        this.stride = stride;
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        if (stride == 1) return x.mul(KeptScalars.Zero);
        using var rows = x.slice(2, 0, x.shape[2], stride);
        using var sampled = rows.slice(3, 0, x.shape[3], stride);
        return sampled.mul(KeptScalars.Zero);
    }
}
