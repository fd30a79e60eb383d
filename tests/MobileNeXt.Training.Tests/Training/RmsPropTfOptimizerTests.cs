using MobileNeXt.Training.Optimization;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Training.Tests.Training;

/// <summary>
/// <see cref="RmsPropTfOptimizer"/> against timm's RMSpropTF update written out by hand with doubles: a Linear(2 → 1)
/// whose loss is <c>sum(x·wᵀ + b)</c>, so the gradients are known exactly (<c>∂w = x</c>, <c>∂b = 1</c>).
/// </summary>
public class RmsPropTfOptimizerTests
{
    private const double Alpha = 0.9, Momentum = 0.9, Eps = 1e-3, Decay = 0.01;

    // Three steps with different inputs and learning rates (the rate changes, as the schedule makes it).
    private static readonly double[][] Inputs = [[0.5, -2.0], [1.5, 0.25], [-0.75, 1.0]];
    private static readonly double[] Rates = [0.1, 0.05, 0.02];

    [Fact]
    public void Should_follow_the_TensorFlow_style_closed_form_over_three_steps()
    {
        using var model = Linear(out var w0, out double b0);
        var groups = ParameterGroups.Split(model, decayNormAndBias: false); // weight decayed, bias not
        using var rms = groups.CreateRmsPropTf(Rates[0], Alpha, Momentum, Eps, Decay);

        // The closed form, element by element: s starts at 1, b at 0; g = ∂ + λ·p for the weight only.
        var p = new[] { w0[0], w0[1], b0 };
        var s = new[] { 1.0, 1.0, 1.0 };
        var m = new[] { 0.0, 0.0, 0.0 };
        for (int step = 0; step < Inputs.Length; step++)
        {
            StepOn(model, rms, Inputs[step], Rates[step]);
            double[] grad = [Inputs[step][0], Inputs[step][1], 1.0];
            for (int j = 0; j < 3; j++)
            {
                double g = grad[j] + (j < 2 ? Decay * p[j] : 0);
                s[j] = Alpha * s[j] + (1 - Alpha) * g * g;
                m[j] = Momentum * m[j] + Rates[step] * g / Math.Sqrt(s[j] + Eps);
                p[j] -= m[j];
            }
            var (w, b) = Values(model);
            w[0].Should().BeApproximately(p[0], 1e-6, $"weight[0] after step {step + 1}");
            w[1].Should().BeApproximately(p[1], 1e-6, $"weight[1] after step {step + 1}");
            b.Should().BeApproximately(p[2], 1e-6, $"bias after step {step + 1}");
        }
        var averages = rms.SquareAverages();
        averages["weight"].data<float>().ToArray().Select(x => (double)x).Should().Equal([s[0], s[1]], (a, e) => Math.Abs(a - e) < 1e-6);
        rms.MomentumBuffers()["bias"].item<float>().Should().BeApproximately((float)m[2], 1e-6f);
    }

    [Fact]
    public void Should_take_a_first_step_unlike_PyTorchs_RMSprop()
    {
        using var model = Linear(out var w0, out _);
        using var rms = ParameterGroups.Split(model, decayNormAndBias: true).CreateRmsPropTf(0.1, Alpha, Momentum, Eps, 0);
        double[] x = [0.5, -2.0];
        StepOn(model, rms, x, 0.1);
        double weight = Values(model).Weight[1];

        // Literal, by hand: g = −2, s = 0.9·1 + 0.1·4 = 1.3, b = 0.1·(−2)/√1.301 = −0.175346…, p = w0 + 0.175346…
        (weight - w0[1]).Should().BeApproximately(0.2 / Math.Sqrt(1.301), 1e-6).And.BeApproximately(0.17535, 1e-5);
        // PyTorch's RMSprop (square average from 0, ε outside the root, lr outside the buffer): s = 0.1·4 = 0.4,
        // step = 0.1·2 / (√0.4 + 1e-3) = 0.31573…, almost twice as far.
        double pytorchStep = 0.1 * 2 / (Math.Sqrt(0.4) + 1e-3);
        (weight - w0[1]).Should().NotBeApproximately(pytorchStep, 0.1);
    }

    [Fact]
    public void Should_step_without_momentum_by_the_rate_over_the_root()
    {
        using var model = Linear(out var w0, out _);
        using var rms = ParameterGroups.Split(model, decayNormAndBias: true).CreateRmsPropTf(0.1, Alpha, 0, Eps, 0);
        StepOn(model, rms, [0.5, -2.0], 0.1);
        (Values(model).Weight[1] - w0[1]).Should().BeApproximately(0.2 / Math.Sqrt(1.301), 1e-6);
        rms.MomentumBuffers().Should().BeEmpty("no momentum, no buffer");
    }

    [Fact]
    public void Should_restore_its_state_and_refuse_a_wrong_shape()
    {
        using var model = Linear(out _, out _);
        var groups = ParameterGroups.Split(model, decayNormAndBias: false);
        using var rms = groups.CreateRmsPropTf(0.1, Alpha, Momentum, Eps, Decay);
        StepOn(model, rms, [0.5, -2.0], 0.1);
        var squares = rms.SquareAverages().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var buffers = rms.MomentumBuffers().ToDictionary(kv => kv.Key, kv => kv.Value.clone());

        // Two optimizers, one fresh with the state loaded: the next step must be the same to the bit.
        using var twin = Linear(out _, out _);
        using (no_grad()) foreach (var (a, b) in twin.parameters().Zip(model.parameters())) a.copy_(b);
        using var restored = ParameterGroups.Split(twin, decayNormAndBias: false).CreateRmsPropTf(0.1, Alpha, Momentum, Eps, Decay);
        restored.LoadSquareAverages(squares);
        restored.LoadMomentumBuffers(buffers);
        StepOn(model, rms, [1.5, 0.25], 0.05);
        StepOn(twin, restored, [1.5, 0.25], 0.05);
        foreach (var (a, b) in twin.parameters().Zip(model.parameters()))
            a.eq(b).all().item<bool>().Should().BeTrue("the restored optimizer continues exactly");

        squares["weight"] = zeros(3);
        FluentActions.Invoking(() => restored.LoadSquareAverages(squares)).Should().Throw<InvalidDataException>().WithMessage("*square average*'weight'*shape*");
    }

    [Theory]
    [InlineData(-0.1, 0.9, 1e-3, "alpha")]
    [InlineData(1.0, 0.9, 1e-3, "alpha")]
    [InlineData(0.9, -0.1, 1e-3, "momentum")]
    [InlineData(0.9, 0.9, 0.0, "epsilon")]
    public void Should_refuse_values_out_of_range(double alpha, double momentum, double epsilon, string name)
    {
        using var model = Linear(out _, out _);
        FluentActions.Invoking(() => ParameterGroups.Split(model, true).CreateRmsPropTf(0.1, alpha, momentum, epsilon, 0))
            .Should().Throw<ArgumentException>().Which.ParamName.Should().Be(name);
    }

    private static TorchSharp.Modules.Linear Linear(out double[] weight, out double bias)
    {
        var model = nn.Linear(2, 1);
        using (no_grad())
        {
            model.weight!.copy_(tensor(new float[] { 0.3f, -0.4f }).reshape(1, 2));
            model.bias!.copy_(tensor(new float[] { 0.1f }));
        }
        weight = [0.3f, -0.4f];
        bias = 0.1f;
        return model;
    }

    private static void StepOn(TorchSharp.Modules.Linear model, RmsPropTfOptimizer rms, double[] x, double rate)
    {
        rms.LearningRate = rate;
        rms.ZeroGrad();
        using var input = tensor(x.Select(v => (float)v).ToArray()).reshape(1, 2);
        using var loss = model.call(input).sum();
        loss.backward();
        rms.Step();
    }

    private static (double[] Weight, double Bias) Values(TorchSharp.Modules.Linear model) =>
        (model.weight!.data<float>().ToArray().Select(v => (double)v).ToArray(), model.bias!.item<float>());
}
