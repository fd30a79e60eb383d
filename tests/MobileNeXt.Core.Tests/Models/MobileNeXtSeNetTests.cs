using System.Text.Json;
using MobileNeXt.Architecture;
using MobileNeXt.Interop;
using MobileNeXt.Layers;
using MobileNeXt.Models;
using MobileNeXt.Profiling;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Core.Tests.Models;

/// <summary>
/// MobileNeXt† 1.0 and 1.1 (Table 6) against the authors' efficient_mnext code: sizes, state_dict layout and eval-mode
/// outputs of the reference fixtures (Fixtures/README.md; random weights, 1e-4 as the fixtures state).
/// </summary>
public class MobileNeXtSeNetTests
{
    private const float Tolerance = 1e-4f;

    private static string Dir(string name) => TestSupport.Fixture(name == "mobilenext_se_100" ? "mobilenext_se_b0" : "mobilenext_se_b1");

    private static readonly Dictionary<string, Lazy<Dictionary<string, Tensor>>> Vectors = new()
    {
        ["mobilenext_se_100"] = new(() => ModelWeights.Read(Path.Combine(Dir("mobilenext_se_100"), "vectors.pt"))),
        ["mobilenext_se_110"] = new(() => ModelWeights.Read(Path.Combine(Dir("mobilenext_se_110"), "vectors.pt"))),
    };

    private static ImageClassifier LoadReference(string name)
    {
        var model = ModelRegistry.Create(name);
        ModelWeights.Load(model, Path.Combine(Dir(name), "state_dict.pt"));
        model.eval();
        return model;
    }

    public class Size
    {
        [Theory]
        // followon-models.md §A and the fixtures' manifest.json: params and conv + linear MACs at 224², 1000 classes,
        // counted by forward hooks on every Conv2d and Linear (SE convs included) — the profiler's convention too.
        [InlineData("mobilenext_se_100", 3_937_011, 330_182_144)]
        [InlineData("mobilenext_se_110", 4_287_498, 415_057_856)]
        public void Should_count_the_released_params_and_macs(string name, long parameters, long macs)
        {
            using var model = ModelRegistry.Create(name);
            var report = ModelProfiler.Profile(model);
            report.TotalParams.Should().Be(parameters);
            report.TotalMacs.Should().Be(macs);
            // Every parameter but the unused _bn1's (2 × 1280) belongs to a layer that runs.
            report.Layers.Sum(l => l.Params).Should().Be(parameters - 2 * 1280);
        }

        [Fact]
        public void Should_count_the_squeeze_excite_convs_as_1x1_convs()
        {
            using var model = ModelRegistry.Create("mobilenext_se_100");
            var report = ModelProfiler.Profile(model);
            // one output pixel: out · in, as the manifest's forward-hook counter does
            report["_blocks.0._se_reduce"].Macs.Should().Be(12L * 96);
            report["_blocks.0._se_expand"].Macs.Should().Be(96L * 12);
        }

        [Fact]
        public void Should_put_the_stride_on_the_144_stage_and_end_at_7x7()
        {
            using var model = ModelRegistry.Create("mobilenext_se_100");
            var report = ModelProfiler.Profile(model);
            report.TotalParams.Should().Be(3_937_011);
            using var _ = no_grad();
            model.eval();
            using var x = zeros(1, 3, 224, 224);
            using var features = model.ForwardFeatures(x);
            features.shape.Should().Equal(1, 1280, 7, 7);
        }
    }

    public class Layout
    {
        [Theory]
        [InlineData("mobilenext_se_100", 513)]
        [InlineData("mobilenext_se_110", 737)]
        public void Should_have_the_manifest_state_dict_keys_and_shapes(string name, int entries)
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir(name), "manifest.json")));
            var expected = doc.RootElement.GetProperty("state_dict").EnumerateArray().ToDictionary(
                e => e.GetProperty("key").GetString()!,
                e => e.GetProperty("shape").EnumerateArray().Select(v => v.GetInt64()).ToArray());
            expected.Should().HaveCount(entries);
            using var model = ModelRegistry.Create(name);
            var ours = model.state_dict();
            ours.Keys.Should().BeEquivalentTo(expected.Keys);
            foreach (var (key, tensor) in ours) tensor.shape.Should().Equal(expected[key], key);
        }
    }

    public class Parity
    {
        [Theory]
        [InlineData("mobilenext_se_100", false)]
        [InlineData("mobilenext_se_110", false)]
        [InlineData("mobilenext_se_100", true)] // channels-last: pointwise convs as GEMMs (ConvLayers.Run), grouped ones too
        [InlineData("mobilenext_se_110", true)]
        public void Should_reproduce_the_reference_logits_and_features(string name, bool channelsLast)
        {
            var vectors = Vectors[name].Value;
            using var model = LoadReference(name);
            using var _ = no_grad();
            using var x = channelsLast ? MemoryLayout.ToChannelsLast(vectors["input"]) : vectors["input"].alias();
            using var features = model.ForwardFeatures(x);
            TestSupport.MaxAbsDiff(features, vectors["features"]).Should().BeLessThan(Tolerance);
            using var logits = model.call(x);
            TestSupport.MaxAbsDiff(logits, vectors["logits"]).Should().BeLessThan(Tolerance);
        }
    }

    public class Fusion
    {
        [Theory]
        [InlineData("mobilenext_se_100")]
        [InlineData("mobilenext_se_110")]
        public void Should_fold_every_batchnorm_and_keep_squeeze_excite(string name)
        {
            var vectors = Vectors[name].Value;
            using var model = LoadReference(name);
            using var fused = model.Fuse();
            fused.modules().OfType<TorchSharp.Modules.BatchNorm>().Should().BeEmpty();
            fused.state_dict().Keys.Should().Contain(["_blocks.3._se_reduce.bias", "_conv_stem.bias", "_fc.weight"]);
            using var _ = no_grad();
            using var expected = model.call(vectors["input"]);
            using var actual = fused.call(vectors["input"]);
            TestSupport.MaxAbsDiff(actual, expected).Should().BeLessThan(1e-5f);
        }
    }

    public class DropConnect
    {
        [Fact]
        public void Should_drop_whole_residual_branches_per_sample_in_training_only()
        {
            // a residual block (in = out, t = 6) dropping its branch with probability 1/2
            using var block = new SeSandglassBlock(new SeBlockSpec(192, 192, 6, 1, 5, 1, DropConnect: 0.5));
            using var _ = no_grad();
            using var x = randn(64, 192, 8, 8, generator: new Generator(3));
            block.eval();
            using var kept = block.call(x);
            using var again = block.call(x);
            TestSupport.MaxAbsDiff(again, kept).Should().Be(0f, "eval mode draws no mask");
            block.train();
            using var trained = block.call(x);
            using var trainedBranch = trained - x;
            // a dropped sample's output is its input exactly; the others keep a (batch-normalised) branch
            using var perSample = trainedBranch.abs().amax([1, 2, 3]);
            using var dropped = perSample.eq(0);
            long droppedCount = dropped.sum().item<long>();
            droppedCount.Should().BeInRange(16, 48, "each of 64 samples drops its branch with probability 1/2");
        }
    }

    public class Training
    {
        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public void Should_backpropagate_to_every_parameter_but_the_unused_bn1(bool channelsLast)
        {
            using var model = ModelRegistry.Create("mobilenext_se_110", new ModelCreateOptions { NumClasses = 10 });
            model.train();
            using var batch = randn(4, 3, 64, 64, generator: new Generator(9));
            using var x = channelsLast ? MemoryLayout.ToChannelsLast(batch) : batch.alias();
            using var logits = model.call(x);
            using var loss = logits.square().mean();
            loss.backward();
            foreach (var (name, p) in model.named_parameters())
            {
                if (name.StartsWith("_bn1.", StringComparison.Ordinal)) p.grad.Should().BeNull(name);
                else p.grad.Should().NotBeNull(name);
            }
        }
    }

    public class Configuration
    {
        [Fact]
        public void Should_reject_pointwise_groups_other_than_1_or_2()
        {
            var act = () => new MobileNeXtSeNet(new MobileNeXtSeOptions { PointwiseGroups = 3 });
            act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("PointwiseGroups must be 1 or 2*");
        }

        [Fact]
        public void Should_reject_drop_connect_for_networks_without_it()
        {
            var act = () => ModelRegistry.Create("mobilenext_100", new ModelCreateOptions { DropConnectRate = 0.2 });
            act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("Only MobileNeXt† (mobilenext_se_*) has drop-connect*");
        }

        [Fact]
        public void Should_reject_a_width_other_than_1()
        {
            var act = () => ModelRegistry.Create("mobilenext_se_100", new ModelCreateOptions { Width = 0.5 });
            act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("MobileNeXt† is defined at width 1.0 only*");
        }

        [Fact]
        public void Should_plan_the_four_block_layouts_in_the_released_order()
        {
            var b1 = MobileNeXtSeNet.Plan(new MobileNeXtSeOptions { Depth = 1.1, PointwiseGroups = 2 });
            b1.Select(s => s.OutChannels).Should().Equal(96, 96, 144, 144, 192, 192, 192, 192, 288, 288, 288, 288,
                384, 384, 384, 384, 384, 576, 576, 576, 576, 576, 960, 960, 960, 960, 1280, 1280);
            b1[1].HasResidual.Should().BeFalse("t = 2 blocks never have a residual, not even b1's 96 → 96");
            b1[^1].HiddenChannels.Should().Be(214, "1280 // 6 = 213, rounded to even");
            b1[^1].SeChannels.Should().Be(53);
            var b0 = MobileNeXtSeNet.Plan(new MobileNeXtSeOptions());
            b0.Count(s => s.HasResidual).Should().Be(12);
            b0.Where(s => s.HasResidual).Select(s => s.DropConnect).Should().OnlyContain(p => p >= 0.03 && p < 0.19);
        }
    }
}
