using MobileNeXt.Training.Data;
using MobileNeXt.Search.Evaluation;
using MobileNeXt.Search.Network;
using MobileNeXt.Search.Operations;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Search.Tests.Network;

public class EvalNetworkTests
{
    // Parameter counts from an independent PyTorch build of DARTS's NetworkCIFAR (bench/darts_eval_params.py, run with
    // /usr/bin/python3, torch): DARTS_V2 at C = 36, 20 cells, 10 classes has 3,349,342 parameters without the auxiliary
    // head — DARTS's own log reports "param size = 3.349342MB" and the paper 3.3 M — and 3,825,768 with it.
    [Fact]
    public void Should_have_DARTS_V2_parameter_count_of_the_PyTorch_reference()
    {
        using var net = new EvalNetwork(new EvalNetworkOptions { Genotype = Genotype.DartsV2 });
        net.ReportedParameterCount().Should().Be(3_349_342);
        net.parameters().Sum(p => p.numel()).Should().Be(3_825_768);
    }

    [Fact]
    public void Should_match_the_PyTorch_reference_at_a_small_size_with_one_input_channel()
    {
        // bench/darts_eval_params.py: C = 16, 8 cells, auxiliary head, 1 input channel → 680,708
        using var net = new EvalNetwork(new EvalNetworkOptions { Genotype = Genotype.DartsV2, Channels = 16, Layers = 8, InputChannels = 1 });
        net.parameters().Sum(p => p.numel()).Should().Be(680_708);
    }

    [Fact]
    public void Should_give_auxiliary_logits_in_training_only()
    {
        manual_seed(1);
        using var net = new EvalNetwork(new EvalNetworkOptions { Genotype = Genotype.DartsV2, Channels = 8, Layers = 5, Classes = 7 });
        using var x = randn(2, 3, 32, 32);
        net.train();
        var (logits, aux) = net.ForwardWithAuxiliary(x);
        logits.shape.Should().Equal(2, 7);
        aux!.shape.Should().Equal(2, 7);
        net.eval();
        var (evalLogits, evalAux) = net.ForwardWithAuxiliary(x);
        evalLogits.shape.Should().Equal(2, 7);
        evalAux.Should().BeNull("DARTS computes the auxiliary head only when self.training");
    }

    [Fact]
    public void Should_size_the_auxiliary_head_as_DARTS_AuxiliaryHeadCIFAR()
    {
        // 1×1 conv C→128, BN(128), 2×2 conv 128→768, BN(768), linear 768→classes: 128C + 256 + 393,216 + 1,536 + 769·classes.
        // At DARTS_V2's 576 channels (4 · 144 after the second reduction) that is 476,426, the PyTorch reference's head.
        using var head = new AuxiliaryHead(576, 10);
        head.parameters().Sum(p => p.numel()).Should().Be(128 * 576 + 256 + 128 * 768 * 4 + 2 * 768 + 769 * 10).And.Be(476_426);
        using var y = head.call(randn(3, 576, 8, 8));
        y.shape.Should().Equal(3, 10);
    }

    [Fact]
    public void Should_raise_drop_path_linearly_to_its_maximum_as_DARTS_train_py()
    {
        // the task that sets it every epoch, with DARTS's 0.2 over 600 epochs
        var task = new DartsEvalTask(DartsEvalSettings.From(Genotype.DartsV2, DartsEvalOptions.Darts),
            new SyntheticShapesDataset(new SyntheticShapesOptions { Count = 4, ImageSize = 32 }), new SyntheticShapesDataset(new SyntheticShapesOptions { Count = 4, ImageSize = 32 }),
            MobileNeXt.Inference.NormalizationStatistics.Identity);
        task.DropPathAt(0, 600).Should().Be(0);
        task.DropPathAt(300, 600).Should().BeApproximately(0.1, 1e-15);
        task.DropPathAt(599, 600).Should().BeApproximately(0.2 * 599 / 600, 1e-15);
    }

    [Fact]
    public void Should_default_to_DARTS_evaluation_recipe()
    {
        // Liu et al. 2018 Sec. 3.3 and quark0/darts cnn/train.py: batch 96, lr 0.025 cosine to 0 over 600 epochs,
        // momentum 0.9, weight decay 3e-4, clip 5, auxiliary 0.4, drop-path 0.2, cutout 16, 36 channels, 20 cells
        var o = DartsEvalOptions.Darts;
        (o.BatchSize, o.Epochs, o.Channels, o.Layers, o.CutoutLength, o.CropPadding).Should().Be((96, 600, 36, 20, 16, 4));
        (o.LearningRate, o.Momentum, o.WeightDecay, o.GradientClip, o.AuxiliaryWeight, o.DropPath).Should().Be((0.025, 0.9, 3e-4, 5.0, 0.4, 0.2));
        // the trainer's schedule for it, 10 steps per epoch at batch 96: one rate per epoch, cosine over the 600
        var schedule = MobileNeXt.Training.Optimization.LearningRateSchedule.From(o.TrainingOptions(), 10, 96);
        schedule.At(0).Should().BeApproximately(0.025, 1e-15);
        schedule.At(9).Should().Be(schedule.At(0), "the rate changes only at epoch boundaries");
        schedule.At(3000).Should().BeApproximately(0.0125, 1e-15); // epoch 300: cos(π/2) = 0
        schedule.At(5999).Should().BeApproximately(0.025 * (1 + Math.Cos(Math.PI * 599 / 600)) / 2, 1e-15);
    }

    [Fact]
    public void Should_leave_evaluation_untouched_by_drop_path()
    {
        manual_seed(3);
        using var net = new EvalNetwork(new EvalNetworkOptions { Genotype = Genotype.DartsV2, Channels = 8, Layers = 5 });
        using var x = randn(2, 3, 32, 32);
        net.eval();
        using var before = net.call(x);
        net.DropPathProbability = 0.5;
        using var after = net.call(x);
        after.allclose(before, rtol: 0, atol: 0).Should().BeTrue();
    }

    [Fact]
    public void Should_drop_paths_in_training_only_on_operations_that_are_not_the_identity()
    {
        static Genotype AllOf(string op) =>
            new([.. Enumerable.Range(0, 8).Select(k => new GenotypeEdge(op, k % 2))], [2, 3, 4, 5],
                [.. Enumerable.Range(0, 8).Select(k => new GenotypeEdge(op, k % 2))], [2, 3, 4, 5]);
        using var x = randn(4, 8, 8, 8);
        (Tensor, Tensor) TwoTrainingPasses(string op)
        {
            using var cell = new EvalCell(AllOf(op), 8, 8, 8, reduction: false, reductionPrev: false) { DropPathProbability = 0.5 };
            cell.train();
            manual_seed(1);
            var first = cell.call(x, x);
            manual_seed(2);
            return (first, cell.call(x, x));
        }
        // a normal cell of identities: nothing to drop, two training passes agree (BN uses the batch's statistics)
        var (s1, s2) = TwoTrainingPasses(Primitives.SkipConnect);
        s1.allclose(s2, rtol: 0, atol: 0).Should().BeTrue();
        // a cell of separable convs: each pass drops other samples' paths
        var (c1, c2) = TwoTrainingPasses(Primitives.SepConv3x3);
        c1.allclose(c2).Should().BeFalse();
    }

    [Fact]
    public void Should_keep_whole_samples_scaled_by_one_over_keep_probability()
    {
        manual_seed(7);
        const double p = 0.2;
        using var x = ones(4000, 2, 3, 3);
        using var y = DropPath.Apply(x, p);
        using var perSample = y.amax([1, 2, 3]);
        using var minPerSample = y.amin([1, 2, 3]);
        perSample.allclose(minPerSample).Should().BeTrue("a sample is dropped or kept whole");
        var values = perSample.data<float>().ToArray();
        values.Should().OnlyContain(v => v == 0f || Math.Abs(v - 1 / (1 - p)) < 1e-6, "kept paths are scaled by 1/(1 − p) = 1.25");
        double kept = values.Count(v => v > 0) / 4000.0;
        kept.Should().BeApproximately(1 - p, 0.03, "Bernoulli(0.8) over 4,000 samples: standard deviation 0.0063");
    }

    [Fact]
    public void Should_reject_a_genotype_reading_a_later_node()
    {
        var bad = Genotype.DartsV2 with { Normal = [.. Genotype.DartsV2.Normal.Take(7), new GenotypeEdge(Primitives.SepConv3x3, 5)] };
        var act = () => new EvalNetwork(new EvalNetworkOptions { Genotype = bad });
        act.Should().Throw<ArgumentException>().WithMessage("*edge 7 of node 3 reads state 5*");
    }
}
