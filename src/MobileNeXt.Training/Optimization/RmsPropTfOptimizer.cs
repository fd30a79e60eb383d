using MobileNeXt.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Training.Optimization;

/// <summary>
/// RMSprop the way TensorFlow does it, timm's <c>RMSpropTF</c> (not centred, L2 decay, learning rate in the momentum):
/// <c>g = ∇ + λ·p</c> (λ only for the decay group); <c>s = s + (1 − α)(g² − s)</c> with <c>s</c> starting at ONE;
/// <c>b = μ·b + lr·g / √(s + ε)</c> with <c>b</c> starting at zero; <c>p = p − b</c>. Without momentum,
/// <c>p = p − lr·g / √(s + ε)</c>.
/// </summary>
/// <remarks>
/// Three differences from PyTorch's <c>torch.optim.RMSprop</c>, all from timm's <c>timm/optim/rmsprop_tf.py</c> (its
/// docstring lists them as "Noteworthy changes"): the square average starts at ones (PyTorch: zeros), so the first
/// steps are not the huge <c>g/√((1−α)g²)</c> ones; ε is added inside the square root (PyTorch: outside), which with the
/// recipe's ε = 1e-3 bounds the denominator below by √1e-3 ≈ 0.03 rather than 1e-3; and the learning rate is applied
/// inside the momentum buffer (<c>lr_in_momentum=True</c>, its default), so a change of rate affects only new
/// contributions, not the velocity already accumulated. The square average is updated in timm's "Tensorflow order of
/// ops" (<c>s += (1 − α)(g² − s)</c>), equal to <c>α·s + (1 − α)·g²</c> up to rounding.
/// </remarks>
public sealed class RmsPropTfOptimizer : HandWrittenOptimizer
{
    private const int SquareAverageSlot = 1;

    /// <summary>An optimizer over <paramref name="groups"/>: weight decay for <see cref="ParameterGroups.Decay"/> only.</summary>
    /// <param name="groups">The parameters.</param>
    /// <param name="learningRate">Initial learning rate (the trainer sets it every step).</param>
    /// <param name="alpha">Smoothing constant α of the square average, in [0, 1).</param>
    /// <param name="momentum">Momentum μ ≥ 0.</param>
    /// <param name="epsilon">ε &gt; 0, added to the square average inside the square root.</param>
    /// <param name="weightDecay">L2 weight decay λ ≥ 0 of the decay group.</param>
    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public RmsPropTfOptimizer(ParameterGroups groups, double learningRate, double alpha, double momentum, double epsilon, double weightDecay)
        : base(groups, slots: 2, learningRate, weightDecay)
    {
        if (alpha < 0 || alpha >= 1) throw new ArgumentException($"Alpha must lie in [0, 1), got {alpha}.", nameof(alpha));
        if (momentum < 0) throw new ArgumentException($"Momentum must be ≥ 0, got {momentum}.", nameof(momentum));
        if (!(epsilon > 0)) throw new ArgumentException($"Epsilon must be > 0, got {epsilon}.", nameof(epsilon));
        Alpha = alpha;
        Momentum = momentum;
        Epsilon = epsilon;
    }

    /// <summary>Smoothing constant α of the square average.</summary>
    public double Alpha { get; }

    /// <summary>Momentum μ.</summary>
    public double Momentum { get; }

    /// <summary>ε, added inside the square root.</summary>
    public double Epsilon { get; }

    /// <inheritdoc />
    public override void Step()
    {
        ThrowIfDisposed();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        // Held until the step ends, so no finalizer can free them while libtorch reads them (defaulted alpha/value
        // arguments would make temporaries, hence the explicit One and MinusOne).
        using var rate = LearningRate.ToScalar();
        using var negativeRate = (-LearningRate).ToScalar();
        using var oneMinusAlpha = (1 - Alpha).ToScalar();
        using var momentum = Momentum.ToScalar();
        using var epsilon = Epsilon.ToScalar();
        using var decay = WeightDecay.ToScalar();
        using var minusOne = (-1L).ToScalar();
        var buffers = Slots[MomentumSlot];
        var squares = Slots[SquareAverageSlot];
        for (int i = 0; i < Parameters.Length; i++)
        {
            var p = Parameters[i];
            var g = p.grad;
            if (g is null || !p.requires_grad) continue; // frozen: no update, no decay, state kept
            if (Decayed[i] && WeightDecay != 0) g = g.add(p, decay);
            var square = squares[i] ??= ones_like(p).DetachFromDisposeScope();
            square.add_(g.square().add_(square, minusOne), oneMinusAlpha);
            var denominator = square.add(epsilon, KeptScalars.One).sqrt_();
            if (Momentum > 0)
            {
                var buffer = buffers[i] ??= zeros_like(p).DetachFromDisposeScope();
                buffer.mul_(momentum).addcdiv_(g, denominator, rate);
                p.add_(buffer, minusOne);
            }
            else p.addcdiv_(g, denominator, negativeRate);
        }
        GC.KeepAlive(this);
    }

    /// <summary>The square averages by parameter name (live tensors, owned by the optimizer); parameters not stepped yet are absent.</summary>
    public IReadOnlyDictionary<string, Tensor> SquareAverages() => SlotByName(SquareAverageSlot);

    /// <summary>Replaces the square averages with copies of <paramref name="averages"/> (by parameter name; the others start again at ones).</summary>
    /// <exception cref="InvalidDataException">An average's shape differs from its parameter's.</exception>
    public void LoadSquareAverages(IReadOnlyDictionary<string, Tensor> averages) => LoadSlot(SquareAverageSlot, averages, "square average");
}
