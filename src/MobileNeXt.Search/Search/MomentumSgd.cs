using MobileNeXt.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Search.Search;

/// <summary>
/// SGD with momentum and L2 weight decay, PyTorch's formula (dampening 0): d = g + λw; b ← d on the first step, else
/// b ← μb + d; w ← w − ηb. Written out rather than taken from TorchSharp's <c>SGD</c> because the second-order
/// architecture step needs the momentum buffers (DARTS <c>architect.py</c> unrolls the weights with
/// w' = w − η(μb + ∇w L + λw)) and TorchSharp keeps them private.
/// </summary>
public sealed class MomentumSgd : IDisposable
{
    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly Tensor?[] _buffers;

    /// <summary>An optimiser over <paramref name="parameters"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Momentum outside [0, 1) or negative weight decay.</exception>
    public MomentumSgd(IReadOnlyList<Parameter> parameters, double momentum, double weightDecay)
    {
        _parameters = parameters ?? throw new ArgumentNullException(nameof(parameters));
        if (momentum is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "Momentum must be in [0, 1); DARTS uses 0.9.");
        if (weightDecay < 0) throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "Weight decay must not be negative; DARTS uses 3e-4.");
        Momentum = momentum;
        WeightDecay = weightDecay;
        _buffers = new Tensor?[parameters.Count];
    }

    /// <summary>μ.</summary>
    public double Momentum { get; }

    /// <summary>λ (L2, added to the gradient).</summary>
    public double WeightDecay { get; }

    /// <summary>The parameters, in the order of <see cref="Buffer"/>.</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>The momentum buffer of parameter <paramref name="index"/>, or null before its first step.</summary>
    public Tensor? Buffer(int index) => _buffers[index];

    /// <summary>Sets every gradient to zero.</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters) p.grad?.zero_();
    }

    /// <summary>One step at learning rate <paramref name="learningRate"/>; parameters without a gradient are left alone.</summary>
    public void Step(double learningRate)
    {
        using var _ = no_grad();
        // Scalars held for the whole step: a temporary one can be finalized by a GC a data worker starts while libtorch
        // still reads it (KeptScalars explains it).
        using Scalar decay = WeightDecay.ToScalar(), momentum = Momentum.ToScalar(), rate = (-learningRate).ToScalar();
        for (int i = 0; i < _parameters.Count; i++)
        {
            var p = _parameters[i];
            if (p.grad is not { } g) continue;
            using var d = WeightDecay != 0 ? g.add(p, alpha: decay) : g.clone();
            if (_buffers[i] is { } b)
                b.mul_(momentum).add_(d, KeptScalars.One);
            else
                _buffers[i] = d.clone().DetachFromDisposeScope();
            p.add_(_buffers[i]!, alpha: rate);
        }
    }

    /// <summary>Restores saved momentum buffers (copied; null for a parameter not stepped yet).</summary>
    /// <exception cref="ArgumentException">Not one buffer per parameter.</exception>
    public void Restore(IReadOnlyList<Tensor?> buffers)
    {
        if (buffers.Count != _parameters.Count)
            throw new ArgumentException($"Momentum buffers for {buffers.Count} parameters cannot restore an optimiser of {_parameters.Count}.");
        for (int i = 0; i < _parameters.Count; i++)
        {
            _buffers[i]?.Dispose();
            _buffers[i] = buffers[i]?.to(_parameters[i].device).clone().DetachFromDisposeScope();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        for (int i = 0; i < _buffers.Length; i++)
        {
            _buffers[i]?.Dispose();
            _buffers[i] = null;
        }
    }
}
