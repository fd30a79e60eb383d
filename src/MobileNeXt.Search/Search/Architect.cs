using MobileNeXt.Layers;
using MobileNeXt.Search.Network;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Search.Search;

/// <summary>
/// The architecture step of DARTS's bi-level optimisation (Liu et al. 2018, Sec. 2.3, Eq. 6–8; quark0/darts
/// <c>cnn/architect.py</c>): computes ∇_α L_val — first-order at the current weights, or second-order at the weights
/// after one unrolled step of the weight optimiser — and applies it with Adam.
/// </summary>
public sealed class Architect : IDisposable
{
    private readonly SearchNetwork _network;
    private readonly MomentumSgd _weights;
    private readonly IReadOnlyList<Parameter> _alphas;
    private readonly ArchitectureAdam _adam;

    /// <summary>An architect for <paramref name="network"/> whose weights <paramref name="weightOptimizer"/> trains.</summary>
    /// <param name="network">The search network.</param>
    /// <param name="weightOptimizer">The weights' optimiser: the unrolled step uses its momentum buffers and weight decay.</param>
    /// <param name="learningRate">Adam's learning rate for α.</param>
    /// <param name="beta1">Adam's β₁.</param>
    /// <param name="beta2">Adam's β₂.</param>
    /// <param name="weightDecay">Adam's L2 weight decay on α.</param>
    public Architect(SearchNetwork network, MomentumSgd weightOptimizer, double learningRate, double beta1, double beta2, double weightDecay)
    {
        _network = network ?? throw new ArgumentNullException(nameof(network));
        _weights = weightOptimizer ?? throw new ArgumentNullException(nameof(weightOptimizer));
        _alphas = network.ArchitectureParameters();
        _adam = new ArchitectureAdam(_alphas, learningRate, beta1, beta2, weightDecay);
    }

    /// <summary>
    /// ε of the finite-difference Hessian-vector product, divided by ‖∇_w' L_val‖: DARTS's footnote to Eq. 8
    /// ("ε = 0.01/‖∇_w' L_val(w', α)‖₂ … sufficiently accurate"), <c>architect.py</c> <c>r=1e-2</c>.
    /// </summary>
    public const double DartsFiniteDifferenceScale = 0.01;

    /// <summary>The ε numerator in use: <see cref="DartsFiniteDifferenceScale"/> unless a test sets a smaller one.</summary>
    internal double FiniteDifferenceScale { get; init; } = DartsFiniteDifferenceScale;

    /// <summary>One architecture update: α's gradient on the validation batch, then one Adam step.</summary>
    /// <param name="trainImages">A training batch (used by the second-order step).</param>
    /// <param name="trainLabels">Its labels.</param>
    /// <param name="validImages">A batch from the search's validation half.</param>
    /// <param name="validLabels">Its labels.</param>
    /// <param name="eta">The weights' current learning rate ξ (DARTS unrolls with the learning rate in use).</param>
    /// <param name="order">First- or second-order.</param>
    public void Step(Tensor trainImages, Tensor trainLabels, Tensor validImages, Tensor validLabels, double eta, SearchOrder order)
    {
        using var scope = NewDisposeScope();
        var gradient = order == SearchOrder.Second
            ? UnrolledGradient(trainImages, trainLabels, validImages, validLabels, eta)
            : Gradients(validImages, validLabels, _alphas);
        _adam.ZeroGrad();
        using (no_grad())
            for (int i = 0; i < _alphas.Count; i++)
            {
                if (_alphas[i].grad is null) _alphas[i].grad = zeros_like(_alphas[i]).DetachFromDisposeScope();
                _alphas[i].grad!.copy_(gradient[i]);
            }
        _adam.Step();
    }

    /// <summary>
    /// The second-order gradient (Eq. 7–8): with w' = w − ξ(μb + ∇_w L_train(w, α) + λw) — the weight optimiser's next
    /// step — it returns ∇_α L_val(w', α) − ξ (∇_α L_train(w⁺, α) − ∇_α L_train(w⁻, α)) / 2ε, where w± = w ± ε∇_w' L_val(w', α)
    /// and ε = 0.01 / ‖∇_w' L_val(w', α)‖. The weights are left exactly as they were.
    /// </summary>
    internal IReadOnlyList<Tensor> UnrolledGradient(Tensor trainImages, Tensor trainLabels, Tensor validImages, Tensor validLabels, double eta)
    {
        var weights = _weights.Parameters;
        var saved = weights.Select(p => p.detach().clone()).ToList();
        try
        {
            var trainGrad = Gradients(trainImages, trainLabels, weights);
            // Scalars held across the calls (KeptScalars explains why a temporary one is unsafe beside data workers).
            using Scalar decay = _weights.WeightDecay.ToScalar(), momentum = _weights.Momentum.ToScalar(), rate = (-eta).ToScalar();
            using (no_grad())
                for (int i = 0; i < weights.Count; i++)
                {
                    // w' = w − ξ(μb + g + λw), architect.py _compute_unrolled_model
                    var step = trainGrad[i].add(saved[i], alpha: decay);
                    if (_weights.Buffer(i) is { } b) step.add_(b, alpha: momentum);
                    weights[i].add_(step, alpha: rate);
                }
            var validGrad = Gradients(validImages, validLabels, [.. _alphas, .. weights]);
            var alphaGrad = validGrad.Take(_alphas.Count).ToList();
            var v = validGrad.Skip(_alphas.Count).ToList();
            double norm = Math.Sqrt(v.Sum(t => t.square().sum().to(ScalarType.Float64).item<double>()));
            double r = FiniteDifferenceScale / norm;
            var plus = GradientAt(saved, v, r, trainImages, trainLabels);
            var minus = GradientAt(saved, v, -r, trainImages, trainLabels);
            // g − (plus − minus) · ξ / 2ε, each subtraction an add of alpha −1 (exactly a − b) with held Scalars
            using Scalar scale = (eta / (2 * r)).ToScalar(), minusOne = (-1L).ToScalar();
            return alphaGrad.Select((g, i) => g.add(plus[i].add(minus[i], minusOne).mul(scale), minusOne)).ToList();
        }
        finally
        {
            using (no_grad())
                for (int i = 0; i < weights.Count; i++) weights[i].copy_(saved[i]);
        }
    }

    /// <summary>∇_α L_train at w = saved + scale · v.</summary>
    private IReadOnlyList<Tensor> GradientAt(IReadOnlyList<Tensor> saved, IReadOnlyList<Tensor> v, double scale, Tensor images, Tensor labels)
    {
        var weights = _weights.Parameters;
        using var alpha = scale.ToScalar();
        using (no_grad())
            for (int i = 0; i < weights.Count; i++) weights[i].copy_(saved[i]).add_(v[i], alpha: alpha);
        return Gradients(images, labels, _alphas);
    }

    /// <summary>Gradients of the cross-entropy on a batch with respect to <paramref name="of"/> (zeros where unused).</summary>
    private IReadOnlyList<Tensor> Gradients(Tensor images, Tensor labels, IReadOnlyList<Tensor> of)
    {
        using var logits = _network.call(images);
        using var loss = nn.functional.cross_entropy(logits, labels);
        var grads = autograd.grad([loss], of.ToList(), allow_unused: true);
        return grads.Select((g, i) => g is null || g.IsInvalid ? zeros_like(of[i]) : g).ToList();
    }

    /// <summary>α's optimiser (its state goes into a search checkpoint).</summary>
    public ArchitectureAdam Optimizer => _adam;

    /// <inheritdoc />
    public void Dispose() => _adam.Dispose();
}
