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
public sealed class SgdOptimizer : IDisposable
{
    private readonly Parameter[] _parameters;
    private readonly bool[] _decay;
    private readonly string[] _names;
    private readonly Tensor?[] _buffers;
    private bool _disposed;

    /// <summary>An optimizer over <paramref name="groups"/>: weight decay for <see cref="ParameterGroups.Decay"/> only.</summary>
    /// <exception cref="ArgumentException">Momentum or weight decay is negative, or Nesterov without momentum.</exception>
    public SgdOptimizer(ParameterGroups groups, double learningRate, double momentum, bool nesterov, double weightDecay)
    {
        ArgumentNullException.ThrowIfNull(groups);
        if (momentum < 0) throw new ArgumentException($"Momentum must be ≥ 0, got {momentum}.", nameof(momentum));
        if (weightDecay < 0) throw new ArgumentException($"Weight decay must be ≥ 0, got {weightDecay}.", nameof(weightDecay));
        if (nesterov && momentum == 0) throw new ArgumentException("Nesterov momentum needs a momentum > 0.", nameof(nesterov));
        var all = groups.Decay.Select(x => (x.Name, x.Parameter, Decay: true))
            .Concat(groups.NoDecay.Select(x => (x.Name, x.Parameter, Decay: false))).ToArray();
        _names = [.. all.Select(x => x.Name)];
        _parameters = [.. all.Select(x => x.Parameter)];
        _decay = [.. all.Select(x => x.Decay)];
        _buffers = new Tensor?[all.Length];
        LearningRate = learningRate;
        Momentum = momentum;
        Nesterov = nesterov;
        WeightDecay = weightDecay;
    }

    /// <summary>The learning rate of the next <see cref="Step"/> (the trainer sets it every iteration).</summary>
    public double LearningRate { get; set; }

    /// <summary>Momentum μ.</summary>
    public double Momentum { get; }

    /// <summary>Whether the update uses Nesterov momentum.</summary>
    public bool Nesterov { get; }

    /// <summary>Weight decay λ of the decay group (the other group gets none).</summary>
    public double WeightDecay { get; }

    /// <summary>Zeroes every existing gradient in place (the storage stays, so a flat gradient buffer stays attached).</summary>
    public void ZeroGrad()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        foreach (var p in _parameters)
        {
            using var grad = p.grad;
            grad?.zero_();
        }
    }

    /// <summary>Updates every parameter that has a gradient.</summary>
    public void Step()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        // Held until the step ends, so no finalizer can free them while libtorch reads them.
        using var negativeRate = (-LearningRate).ToScalar();
        using var momentum = Momentum.ToScalar();
        using var decay = WeightDecay.ToScalar();
        for (int i = 0; i < _parameters.Length; i++)
        {
            var p = _parameters[i];
            var d = p.grad;
            if (d is null) continue;
            if (_decay[i] && WeightDecay != 0) d = d.add(p, decay);
            if (Momentum != 0)
            {
                var buffer = _buffers[i];
                if (buffer is null) _buffers[i] = buffer = d.detach().clone().DetachFromDisposeScope();
                else buffer.mul_(momentum).add_(d, KeptScalars.One);
                d = Nesterov ? d.add(buffer, momentum) : buffer;
            }
            p.add_(d, negativeRate);
        }
        GC.KeepAlive(this);
    }

    /// <summary>The momentum buffers by parameter name (live tensors, owned by the optimizer); parameters without one yet are absent.</summary>
    public IReadOnlyDictionary<string, Tensor> MomentumBuffers()
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        for (int i = 0; i < _names.Length; i++)
            if (_buffers[i] is { } b) result[_names[i]] = b;
        return result;
    }

    /// <summary>Replaces the momentum buffers with copies of <paramref name="buffers"/> (by parameter name; others are cleared).</summary>
    /// <exception cref="InvalidDataException">A buffer's shape differs from its parameter's.</exception>
    public void LoadMomentumBuffers(IReadOnlyDictionary<string, Tensor> buffers)
    {
        ArgumentNullException.ThrowIfNull(buffers);
        using var _ = no_grad();
        for (int i = 0; i < _names.Length; i++)
        {
            _buffers[i]?.Dispose();
            _buffers[i] = null;
            if (!buffers.TryGetValue(_names[i], out var source)) continue;
            if (!source.shape.SequenceEqual(_parameters[i].shape))
                throw new InvalidDataException($"The momentum buffer of '{_names[i]}' has shape [{string.Join(", ", source.shape)}], its parameter [{string.Join(", ", _parameters[i].shape)}].");
            using var scope = NewDisposeScope(); // the intermediate detach/clone when the buffer changes device
            _buffers[i] = source.detach().clone().to(_parameters[i].device).MoveToOuterDisposeScope().DetachFromDisposeScope();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var b in _buffers) b?.Dispose();
    }
}
