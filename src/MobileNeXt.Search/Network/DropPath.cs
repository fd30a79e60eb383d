using TorchSharp;
using MobileNeXt.Layers;
using static TorchSharp.torch;

namespace MobileNeXt.Search.Network;

/// <summary>
/// Drop-path (Larsson et al., FractalNet; as DARTS's <c>utils.drop_path</c>, quark0/darts <c>cnn/utils.py</c>): each
/// sample's path is zeroed with probability p and the kept ones are scaled by 1/(1 − p), so the expectation is unchanged.
/// </summary>
public static class DropPath
{
    /// <summary>
    /// <paramref name="x"/> with every sample (first dimension) kept with probability 1 − <paramref name="probability"/>
    /// and divided by it, or zeroed. The draw uses torch's generator (<c>bernoulli_</c>, as DARTS). A new tensor.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The probability is outside [0, 1).</exception>
    public static Tensor Apply(Tensor x, double probability)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (probability is < 0 or >= 1 || double.IsNaN(probability))
            throw new ArgumentOutOfRangeException(nameof(probability), probability, "A drop-path probability must be in [0, 1) (DARTS: up to 0.2).");
        if (probability == 0) return x.alias();
        double keep = 1 - probability;
        var shape = new long[x.dim()];
        Array.Fill(shape, 1L);
        shape[0] = x.shape[0];
        using var mask = empty(shape, x.dtype, x.device).bernoulli_(keep);
        using var divisor = keep.ToScalar(); // held until the call returns (KeptScalars explains why)
        return x.div(divisor).mul_(mask);
    }
}
