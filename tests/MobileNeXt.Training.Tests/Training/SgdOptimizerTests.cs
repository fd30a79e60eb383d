using MobileNeXt.Models;
using MobileNeXt.Training.Optimization;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Training.Tests.Training;

/// <summary>
/// <see cref="SgdOptimizer"/> against TorchSharp's <c>optim.SGD</c>, which implements PyTorch's update rule: same groups,
/// same gradients, the parameters must come out bit for bit the same.
/// </summary>
public class SgdOptimizerTests
{
    [Theory]
    [InlineData(0.9, false, 4e-5, true)]  // the paper preset: everything decayed
    [InlineData(0.9, true, 1e-4, false)]  // the released preset: Nesterov, no decay on BN and biases
    [InlineData(0.0, false, 0.0, true)]   // plain SGD
    public void Should_update_exactly_as_TorchSharps_SGD(double momentum, bool nesterov, double weightDecay, bool decayAll)
    {
        using var ours = Model(1);
        using var theirs = Model(1);
        using (no_grad()) // identical starting weights, whatever other tests do to the global generator meanwhile
            foreach (var (a, b) in ours.parameters().Zip(theirs.parameters())) b.copy_(a);
        var oursGroups = ParameterGroups.Split(ours, decayAll);
        var theirsGroups = ParameterGroups.Split(theirs, decayAll);
        using var sgd = oursGroups.CreateSgd(0.01, momentum, nesterov, weightDecay);
        var groups = new List<TorchSharp.Modules.SGD.ParamGroup>
        {
            new(theirsGroups.Decay.Select(x => x.Parameter).ToList(), lr: 0.01, momentum: momentum, nesterov: nesterov, weight_decay: weightDecay),
        };
        if (theirsGroups.NoDecay.Count > 0)
            groups.Add(new(theirsGroups.NoDecay.Select(x => x.Parameter).ToList(), lr: 0.01, momentum: momentum, nesterov: nesterov, weight_decay: 0));
        using var reference = optim.SGD(groups, 0.01, momentum, nesterov: nesterov);

        var gen = new Generator(5);
        for (int step = 0; step < 4; step++)
        {
            double lr = 0.01 / (step + 1); // a changing rate (small: a batch of 4 at 32² is a rough ride), as the schedule sets it every step
            sgd.LearningRate = lr;
            foreach (var g in reference.ParamGroups) g.LearningRate = lr;
            using var x = randn(4, 3, 32, 32, generator: gen);
            using var y = randint(10, [4], generator: gen);
            sgd.ZeroGrad();
            reference.zero_grad();
            using (var loss = nn.functional.cross_entropy(ours.call(x), y)) loss.backward();
            using (var loss = nn.functional.cross_entropy(theirs.call(x), y)) loss.backward();
            // The same gradients on both sides: a multi-threaded backward need not be bitwise repeatable, the update is.
            using (no_grad())
                foreach (var (a, b) in ours.parameters().Zip(theirs.parameters()))
                {
                    using var ga = a.grad!;
                    using var gb = b.grad!;
                    gb.copy_(ga);
                }
            sgd.Step();
            reference.step();
        }
        foreach (var ((name, a), (_, b)) in ours.named_parameters().Zip(theirs.named_parameters()))
        {
            a.isfinite().all().item<bool>().Should().BeTrue($"'{name}' stays finite");
            a.allclose(b, rtol: 0, atol: 0).Should().BeTrue($"'{name}' is updated the same way (max |Δ| {(a - b).abs().max().item<float>()}, max |a| {a.abs().max().item<float>()}, max |b| {b.abs().max().item<float>()})");
        }
        if (momentum > 0) sgd.MomentumBuffers().Should().HaveCount(ours.parameters().Count());
    }

    [Fact]
    public void Should_zero_gradients_in_place()
    {
        using var model = Model(2);
        using var sgd = ParameterGroups.Split(model, true).CreateSgd(0.1, 0.9, false, 0);
        using var x = randn(2, 3, 32, 32);
        using (var loss = model.call(x).sum()) loss.backward();
        var p = model.parameters().First();
        using var before = p.grad!;
        sgd.ZeroGrad();
        using var after = p.grad!;
        System.Runtime.CompilerServices.Unsafe.AreSame(ref before.bytes[0], ref after.bytes[0])
            .Should().BeTrue("a flat gradient buffer's views must stay attached");
        after.count_nonzero().item<long>().Should().Be(0);
    }

    [Fact]
    public void Should_restore_momentum_buffers_and_refuse_a_wrong_shape()
    {
        using var model = Model(3);
        var groups = ParameterGroups.Split(model, true);
        using var sgd = groups.CreateSgd(0.1, 0.9, false, 0);
        using var x = randn(2, 3, 32, 32);
        using (var loss = model.call(x).sum()) loss.backward();
        sgd.Step();
        var saved = sgd.MomentumBuffers().ToDictionary(kv => kv.Key, kv => kv.Value.clone());

        using var other = groups.CreateSgd(0.1, 0.9, false, 0);
        other.LoadMomentumBuffers(saved);
        foreach (var (name, buffer) in other.MomentumBuffers()) buffer.allclose(saved[name], rtol: 0, atol: 0).Should().BeTrue(name);

        string first = saved.Keys.First();
        saved[first] = zeros(1);
        FluentActions.Invoking(() => other.LoadMomentumBuffers(saved)).Should().Throw<InvalidDataException>().WithMessage($"*'{first}'*shape*");
    }

    [Fact]
    public void Should_decay_only_the_decay_group()
    {
        using var model = Model(4);
        var groups = ParameterGroups.Split(model, decayNormAndBias: false);
        using var sgd = groups.CreateSgd(0.5, 0.0, false, 0.1);
        using var x = randn(2, 3, 32, 32);
        using (var loss = model.call(x).sum() * 0) loss.backward(); // zero gradients: only weight decay moves anything
        var before = groups.All.ToDictionary(p => p.Name, p => p.Parameter.detach().clone());
        sgd.Step();
        foreach (var (name, p) in groups.Decay)
            p.allclose(before[name] * (1 - 0.5 * 0.1), rtol: 1e-6, atol: 1e-9).Should().BeTrue($"'{name}' shrinks by 1 − lr·λ");
        foreach (var (name, p) in groups.NoDecay)
            p.allclose(before[name], rtol: 0, atol: 0).Should().BeTrue($"'{name}' is not decayed");
    }

    private static ImageClassifier Model(int seed)
    {
        manual_seed(seed);
        var model = ModelRegistry.Create("mobilenext_035", new ModelCreateOptions { NumClasses = 10, DropRate = 0 });
        model.train();
        return model;
    }
}
