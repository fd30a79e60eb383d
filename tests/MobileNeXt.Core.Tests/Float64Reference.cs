using static TorchSharp.torch;

namespace MobileNeXt.Core.Tests;

/// <summary>How far a float32 result is from libtorch's float64 computation of the same values.</summary>
internal static class Float64Reference
{
    /// <summary>‖actual − exact‖ / ‖exact‖ in float64 (relative L2).</summary>
    public static double RelativeError(Tensor actual, Tensor exact)
    {
        using var a = actual.to(ScalarType.Float64);
        using var e = exact.to(ScalarType.Float64);
        using var diff = a - e;
        return (diff.norm() / e.norm()).item<double>();
    }
}
