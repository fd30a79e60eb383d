using MobileNeXt.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Search.Search;

/// <summary>
/// Adam with L2 weight decay, PyTorch's formula (<c>torch.optim.Adam</c>, amsgrad off, ε = 1e-8): g ← g + λθ,
/// m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², θ ← θ − η/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε). Written out, as
/// <see cref="MomentumSgd"/> is, so a search checkpoint can hold its moments and step count and a resumed search
/// continues exactly (TorchSharp's Adam keeps them private).
/// </summary>
public sealed class ArchitectureAdam : IDisposable
{
    /// <summary>PyTorch's default ε.</summary>
    public const double Epsilon = 1e-8;

    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly Tensor?[] _first, _second;

    /// <summary>An optimiser over <paramref name="parameters"/>.</summary>
    public ArchitectureAdam(IReadOnlyList<Parameter> parameters, double learningRate, double beta1, double beta2, double weightDecay)
    {
        _parameters = parameters ?? throw new ArgumentNullException(nameof(parameters));
        (LearningRate, Beta1, Beta2, WeightDecay) = (learningRate, beta1, beta2, weightDecay);
        _first = new Tensor?[parameters.Count];
        _second = new Tensor?[parameters.Count];
    }

    /// <summary>η.</summary>
    public double LearningRate { get; }

    /// <summary>β₁.</summary>
    public double Beta1 { get; }

    /// <summary>β₂.</summary>
    public double Beta2 { get; }

    /// <summary>λ.</summary>
    public double WeightDecay { get; }

    /// <summary>Steps taken (t).</summary>
    public long Steps { get; private set; }

    /// <summary>Sets every gradient to zero.</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters) p.grad?.zero_();
    }

    /// <summary>One step; parameters without a gradient are left alone.</summary>
    public void Step()
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        Steps++;
        double correction1 = 1 - Math.Pow(Beta1, Steps), correction2 = 1 - Math.Pow(Beta2, Steps);
        // Scalars held for the whole step (KeptScalars explains why a temporary one is unsafe beside data workers).
        using Scalar decay = WeightDecay.ToScalar(), beta1 = Beta1.ToScalar(), beta2 = Beta2.ToScalar(), oneMinusBeta1 = (1 - Beta1).ToScalar(),
            oneMinusBeta2 = (1 - Beta2).ToScalar(), root2 = Math.Sqrt(correction2).ToScalar(), epsilon = Epsilon.ToScalar(), rate = (-LearningRate / correction1).ToScalar();
        for (int i = 0; i < _parameters.Count; i++)
        {
            var p = _parameters[i];
            if (p.grad is not { } grad) continue;
            var g = WeightDecay != 0 ? grad.add(p, alpha: decay) : grad;
            _first[i] ??= zeros_like(p).DetachFromDisposeScope();
            _second[i] ??= zeros_like(p).DetachFromDisposeScope();
            _first[i]!.mul_(beta1).add_(g, alpha: oneMinusBeta1);
            _second[i]!.mul_(beta2).addcmul_(g, g, value: oneMinusBeta2);
            var denominator = _second[i]!.sqrt().div_(root2).add_(epsilon, KeptScalars.One);
            p.addcdiv_(_first[i]!, denominator, value: rate);
        }
    }

    /// <summary>The state to save: the step count and each parameter's moments (absent before its first step).</summary>
    public (long Steps, IReadOnlyList<Tensor?> First, IReadOnlyList<Tensor?> Second) State => (Steps, _first, _second);

    /// <summary>Restores a saved <see cref="State"/> (the tensors are copied).</summary>
    /// <exception cref="ArgumentException">The lists do not have one entry per parameter.</exception>
    public void Restore(long steps, IReadOnlyList<Tensor?> first, IReadOnlyList<Tensor?> second)
    {
        if (first.Count != _parameters.Count || second.Count != _parameters.Count)
            throw new ArgumentException($"Adam state for {first.Count} parameters cannot restore an optimiser of {_parameters.Count}.");
        Steps = steps;
        for (int i = 0; i < _parameters.Count; i++)
        {
            _first[i]?.Dispose();
            _second[i]?.Dispose();
            _first[i] = first[i]?.to(_parameters[i].device).clone().DetachFromDisposeScope();
            _second[i] = second[i]?.to(_parameters[i].device).clone().DetachFromDisposeScope();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        for (int i = 0; i < _first.Length; i++)
        {
            _first[i]?.Dispose();
            _second[i]?.Dispose();
            _first[i] = _second[i] = null;
        }
    }
}
