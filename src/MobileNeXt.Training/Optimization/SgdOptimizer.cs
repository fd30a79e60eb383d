using MobileNeXt.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Training.Optimization;

/// <summary>
/// Stochastic gradient descent with momentum, PyTorch's <c>torch.optim.SGD</c> update (dampening 0):
/// <c>d = g + λ·p</c> (λ only for parameters in the decay group); <c>b = d</c> on the first step, else <c>b = μ·b + d</c>;
/// <c>d = d + μ·b</c> with Nesterov, else <c>d = b</c>; <c>p = p − lr·d</c>.
/// </summary>
/// <remarks>
/// Hand-written instead of TorchSharp's <c>optim.SGD</c>, whose step passes about five temporary scalars per parameter to
/// libtorch (<c>alpha: weight_decay</c>, <c>mul_(momentum)</c>, …); each can be finalized by a garbage collection on another
/// thread while libtorch reads it (see <see cref="KeptScalars"/>). Here the step's scalars are made once per step and held
/// until it ends. The arithmetic is the same operations in the same order, so the results are identical to TorchSharp's
/// (a test holds it to that).
/// </remarks>
public sealed class SgdOptimizer : HandWrittenOptimizer
{
    /// <summary>An optimizer over <paramref name="groups"/>: weight decay for <see cref="ParameterGroups.Decay"/> only.</summary>
    /// <exception cref="ArgumentException">Momentum or weight decay is negative, or Nesterov without momentum.</exception>
    public SgdOptimizer(ParameterGroups groups, double learningRate, double momentum, bool nesterov, double weightDecay)
        : base(groups, slots: 1, learningRate, weightDecay)
    {
        if (momentum < 0) throw new ArgumentException($"Momentum must be ≥ 0, got {momentum}.", nameof(momentum));
        if (nesterov && momentum == 0) throw new ArgumentException("Nesterov momentum needs a momentum > 0.", nameof(nesterov));
        Momentum = momentum;
        Nesterov = nesterov;
    }

    /// <summary>Momentum μ.</summary>
    public double Momentum { get; }

    /// <summary>Whether the update uses Nesterov momentum.</summary>
    public bool Nesterov { get; }

    /// <inheritdoc />
    public override void Step()
    {
        ThrowIfDisposed();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        // Held until the step ends, so no finalizer can free them while libtorch reads them.
        using var negativeRate = (-LearningRate).ToScalar();
        using var momentum = Momentum.ToScalar();
        using var decay = WeightDecay.ToScalar();
        var buffers = Slots[MomentumSlot];
        for (int i = 0; i < Parameters.Length; i++)
        {
            var p = Parameters[i];
            var d = p.grad;
            if (d is null || !p.requires_grad) continue; // frozen: no update, no decay, state kept
            if (Decayed[i] && WeightDecay != 0) d = d.add(p, decay);
            if (Momentum != 0)
            {
                var buffer = buffers[i];
                if (buffer is null) buffers[i] = buffer = d.detach().clone().DetachFromDisposeScope();
                else buffer.mul_(momentum).add_(d, KeptScalars.One);
                d = Nesterov ? d.add(buffer, momentum) : buffer;
            }
            p.add_(d, negativeRate);
        }
        GC.KeepAlive(this);
    }
}
