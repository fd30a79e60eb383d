using MobileNeXt.Models;
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

    /// <summary>
    /// <paramref name="model"/>'s logits on <paramref name="x"/> (detached) and the gradient of their cross-entropy
    /// with <paramref name="labels"/>, every parameter's flattened into one vector: what a float32 network is held to
    /// its float64 copy by.
    /// </summary>
    public static (Tensor Logits, Tensor Gradient) LogitsAndGradient(ImageClassifier model, Tensor x, Tensor labels)
    {
        using var scope = NewDisposeScope();
        model.zero_grad();
        var logits = model.call(x);
        nn.functional.cross_entropy(logits, labels).backward();
        var gradient = cat(model.parameters().Select(p => p.grad!.flatten()).ToList(), 0);
        return (logits.detach().MoveToOuterDisposeScope(), gradient.MoveToOuterDisposeScope());
    }
}
