using MobileNeXt.Search.Network;
using MobileNeXt.Search.Operations;
using MobileNeXt.Search.Search;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Search.Tests.Search;

public class ArchitectTests
{
    private const double Eta = 0.5, Momentum = 0.9, Decay = 3e-4;

    private sealed class Fixture : IDisposable
    {
        public readonly SearchNetwork Net;
        public readonly MomentumSgd Sgd;
        public readonly Tensor Xt, Yt, Xv, Yv;

        public Fixture()
        {
            manual_seed(11);
            // One reduction cell of 1 node on 2 channels, float64 so central differences are exact to ~1e-9.
            Net = new SearchNetwork(new SearchNetworkOptions { Channels = 2, Layers = 1, Steps = 1, Multiplier = 1, Classes = 3 });
            Net.to(ScalarType.Float64);
            using (no_grad())
                foreach (var a in Net.ArchitectureParameters()) a.copy_(randn_like(a)); // away from the uniform start
            Sgd = new MomentumSgd(Net.WeightParameters(), Momentum, Decay);
            Xt = randn(4, 3, 4, 4, ScalarType.Float64);
            Yt = tensor(new long[] { 0, 1, 2, 1 });
            Xv = randn(4, 3, 4, 4, ScalarType.Float64);
            Yv = tensor(new long[] { 2, 0, 1, 0 });
            // one weight step so the unrolled step has a momentum buffer to carry
            using var loss = nn.functional.cross_entropy(Net.call(Xt), Yt);
            loss.backward();
            Sgd.Step(0.1);
        }

        /// <summary>
        /// L_val(w'(α), α) with w'(α) = w − η(μb + ∇_w L_train(w, α) + λw), computed directly (not by the architect), the
        /// weights restored afterwards.
        /// </summary>
        public double UnrolledValidationLoss()
        {
            var w = Sgd.Parameters;
            var saved = w.Select(p => p.detach().clone()).ToList();
            using var logits = Net.call(Xt);
            using var loss = nn.functional.cross_entropy(logits, Yt);
            var g = autograd.grad([loss], w.Cast<Tensor>().ToList(), allow_unused: true);
            using (no_grad())
                for (int i = 0; i < w.Count; i++)
                {
                    var gi = g[i] is null || g[i].IsInvalid ? zeros_like(w[i]) : g[i];
                    w[i].sub_((Sgd.Buffer(i)! * Momentum + gi + saved[i] * Decay) * Eta);
                }
            double value;
            using (no_grad())
            {
                using var lv = Net.call(Xv);
                value = nn.functional.cross_entropy(lv, Yv).item<double>();
                for (int i = 0; i < w.Count; i++) w[i].copy_(saved[i]);
            }
            return value;
        }

        public void Dispose() { Sgd.Dispose(); Net.Dispose(); }
    }

    private static double[] Flatten(IEnumerable<Tensor> ts) => ts.SelectMany(t => t.cpu().to(ScalarType.Float64).data<double>().ToArray()).ToArray();

    private static double RelativeError(double[] a, double[] b) =>
        Math.Sqrt(a.Zip(b, (x, y) => (x - y) * (x - y)).Sum()) / Math.Sqrt(b.Sum(y => y * y));

    private readonly Xunit.Abstractions.ITestOutputHelper _output;

    public ArchitectTests(Xunit.Abstractions.ITestOutputHelper output) => _output = output;

    [Fact]
    public void Should_match_central_differences_of_the_unrolled_validation_loss()
    {
        using var f = new Fixture();
        var weightsBefore = Flatten(f.Net.WeightParameters());

        // dF/dα_k ≈ (F(α + h e_k) − F(α − h e_k)) / 2h on every entry of both α, F computed without the architect
        const double h = 1e-5;
        var numeric = new List<double>();
        foreach (var alpha in f.Net.ArchitectureParameters())
        {
            using var flat = alpha.detach().view(-1);
            for (long k = 0; k < flat.shape[0]; k++)
            {
                double original = flat[k].item<double>();
                using (no_grad()) flat[k] = tensor(original + h, ScalarType.Float64);
                double up = f.UnrolledValidationLoss();
                using (no_grad()) flat[k] = tensor(original - h, ScalarType.Float64);
                double down = f.UnrolledValidationLoss();
                using (no_grad()) flat[k] = tensor(original, ScalarType.Float64);
                numeric.Add((up - down) / (2 * h));
            }
        }
        var expected = numeric.ToArray();

        // With a small ε the Hessian-vector product is nearly exact, so the formula itself is checked to ~1e-6.
        using var exact = new Architect(f.Net, f.Sgd, 3e-4, 0.5, 0.999, 1e-3) { FiniteDifferenceScale = 1e-6 };
        double exactError = RelativeError(Flatten(exact.UnrolledGradient(f.Xt, f.Yt, f.Xv, f.Yv, Eta)), expected);
        Flatten(f.Net.WeightParameters()).Should().Equal(weightsBefore); // the weights are left exactly as they were

        // DARTS's ε = 0.01/‖v‖ moves the weights by 0.01 in norm: on this tiny ReLU network it crosses kinks, so a few % off.
        using var darts = new Architect(f.Net, f.Sgd, 3e-4, 0.5, 0.999, 1e-3);
        double dartsError = RelativeError(Flatten(darts.UnrolledGradient(f.Xt, f.Yt, f.Xv, f.Yv, Eta)), expected);

        using var logits = f.Net.call(f.Xv);
        using var loss = nn.functional.cross_entropy(logits, f.Yv);
        var alphas = f.Net.ArchitectureParameters();
        var firstOrder = autograd.grad([loss], alphas.Cast<Tensor>().ToList(), allow_unused: true) // α_normal is unused: no normal cell
            .Select((g, i) => g is null || g.IsInvalid ? zeros_like(alphas[i]) : g);
        double firstOrderError = RelativeError(Flatten(firstOrder), expected);
        _output.WriteLine($"relative error against central differences: ε=1e-6/‖v‖ {exactError:E2}, DARTS ε=0.01/‖v‖ {dartsError:E2}, first-order {firstOrderError:E2}");

        exactError.Should().BeLessThan(1e-4);
        dartsError.Should().BeLessThan(0.1);
        firstOrderError.Should().BeGreaterThan(5 * dartsError, "the second-order term matters at η = 0.5");
    }
}
