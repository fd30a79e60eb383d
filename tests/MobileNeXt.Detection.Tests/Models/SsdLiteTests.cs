using System.Collections;
using MobileNeXt.Architecture;
using MobileNeXt.Interop;
using MobileNeXt.Models;
using MobileNeXt.Tests.Shared;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace MobileNeXt.Detection.Tests.Models;

/// <summary>SSDLite320-MobileNeXt is the released detector: its state_dict layout, size, cost and outputs.</summary>
public class SsdLiteTests
{
    public class The_released_MobileNeXt_detector
    {
        [Fact]
        public void Should_have_the_released_state_dict_keys_shapes_and_dtypes()
        {
            using var model = SsdLite.CreateMobileNeXt();
            var ours = model.state_dict();
            var reference = TestSupport.Manifest.GetProperty("state_dict").EnumerateArray().ToList();
            ours.Should().HaveCount(610, "manifest.json: state_dict_entries");
            ours.Keys.Should().BeEquivalentTo(reference.Select(e => e.GetProperty("key").GetString()));
            foreach (var entry in reference)
            {
                var tensor = ours[entry.GetProperty("key").GetString()!];
                tensor.shape.Should().Equal(entry.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()), entry.GetProperty("key").GetString());
                tensor.dtype.Should().Be(entry.GetProperty("dtype").GetString() == "int64" ? ScalarType.Int64 : ScalarType.Float32);
            }
        }

        [Fact]
        public void Should_have_the_released_parameter_and_MAC_counts_at_320()
        {
            using var model = SsdLite.CreateMobileNeXt();
            var report = model.Profile();
            // manifest.json: params 3,476,308 and macs_conv_linear 708,726,528 at 1×3×320×320 (forward hooks in PyTorch).
            report.TotalParams.Should().Be(TestSupport.Manifest.GetProperty("params").GetInt64()).And.Be(3_476_308);
            report.TotalMacs.Should().Be(TestSupport.Manifest.GetProperty("macs_conv_linear").GetInt64()).And.Be(708_726_528);
        }

        [Fact]
        public void Should_load_the_weights_from_a_checkpoint_of_the_released_trainer()
        {
            // ssd/utils/checkpoint.py saves {"model": state_dict, "optimizer": …, "scheduler": …, "iteration": …}.
            using var dir = new TempFolder();
            var path = dir.Combine("model_final.pth");
            var weights = ModelWeights.Read(TestSupport.Reference("state_dict.pt"));
            using (var file = File.Create(path))
                PyTorchPickler.PickleStateDict(file, new Hashtable
                {
                    ["model"] = new Hashtable(weights),
                    ["optimizer"] = new Hashtable(),
                    ["iteration"] = 120000,
                });
            foreach (var t in weights.Values) t.Dispose();
            using var model = SsdLite.CreateMobileNeXt();
            ModelWeights.Load(model, path);
            model.eval();
            using var _ = no_grad();
            var (scores, boxes) = model.call(TestSupport.Vectors["input"]);
            using (scores)
            using (boxes)
                TestSupport.ShouldMatchTheReferenceOutputs(scores, boxes);
        }

        [Fact]
        public void Should_reproduce_the_reference_on_a_channels_last_batch()
        {
            // Core runs pointwise convs of channels-last batches as GEMMs (ConvLayers.Run); the detector's extras and heads too.
            using var model = TestSupport.ReferenceDetector();
            using var _ = no_grad();
            using var x = MobileNeXt.MemoryLayout.ToChannelsLast(TestSupport.Vectors["input"]);
            var (scores, boxes) = model.call(x);
            using (scores)
            using (boxes)
                TestSupport.ShouldMatchTheReferenceOutputs(scores, boxes);
        }

        [Fact]
        public void Should_give_six_maps_of_the_released_shapes()
        {
            using var model = SsdLite.CreateMobileNeXt();
            model.eval();
            using var _ = no_grad();
            using var x = zeros(2, 3, 320, 320);
            var maps = model.Backbone.call(x);
            // manifest.json: feature_map_shapes
            var expected = TestSupport.Manifest.GetProperty("feature_map_shapes").EnumerateArray()
                .Select(s => s.EnumerateArray().Select(d => d.GetInt64()).ToArray()).ToList();
            maps.Select(m => m.shape).Should().BeEquivalentTo(expected, o => o.WithStrictOrdering());
            foreach (var m in maps) m.Dispose();
        }

        [Fact]
        public void Should_reproduce_the_reference_class_logits_and_box_regressions()
        {
            using var model = TestSupport.ReferenceDetector();
            using var _ = no_grad();
            var (scores, boxes) = model.call(TestSupport.Vectors["input"]);
            using (scores)
            using (boxes)
                TestSupport.ShouldMatchTheReferenceOutputs(scores, boxes);
        }
    }

    public class Training
    {
        [Fact]
        public void Should_give_every_parameter_a_gradient()
        {
            using var model = SsdLite.CreateMobileNeXt(width: 0.5);
            model.train();
            manual_seed(5);
            using var x = randn(2, 3, 320, 320);
            var (scores, boxes) = model.call(x);
            using (scores)
            using (boxes)
            using (var loss = scores.square().mean() + boxes.square().mean())
                loss.backward();
            // Every head, extra and backbone conv and BatchNorm is registered and reached by autograd.
            model.named_parameters().Where(p => p.parameter.grad is null).Select(p => p.name).Should().BeEmpty();
        }

        [Theory]
        [InlineData("mobilenext", 0.5)]
        [InlineData("mobilenetv2", 0.5)]
        public void Should_build_narrower_backbones_with_the_same_six_levels(string backbone, double width)
        {
            using var model = backbone == "mobilenext" ? SsdLite.CreateMobileNeXt(width: width) : SsdLite.CreateMobileNetV2(width: width);
            model.eval();
            using var _ = no_grad();
            using var x = zeros(1, 3, 320, 320);
            var maps = model.Backbone.call(x);
            maps.Select(m => m.shape[2]).Should().Equal(20, 10, 5, 3, 2, 1); // the released config's FEATURE_MAPS
            foreach (var m in maps) m.Dispose();
            var (scores, boxes) = model.call(x);
            scores.shape.Should().Equal(1, 3234, 21);
            boxes.shape.Should().Equal(1, 3234, 4);
            scores.Dispose();
            boxes.Dispose();
        }
    }

    public class Backbone_initialisation
    {
        [Fact]
        public void Should_copy_every_features_weight_of_a_classification_checkpoint()
        {
            using var dir = new TempFolder();
            var path = dir.Combine("mobilenext_100.pth");
            using (var classifier = new MobileNeXtNet())
                ModelWeights.SavePyTorch(classifier, path);
            using var model = SsdLite.CreateMobileNeXt();
            model.LoadBackboneWeights(path);
            var file = ModelWeights.Read(path);
            var ours = model.state_dict();
            file.Keys.Where(k => k.StartsWith("classifier.", StringComparison.Ordinal)).Should().NotBeEmpty();
            foreach (var (key, tensor) in file.Where(kv => kv.Key.StartsWith("features.", StringComparison.Ordinal)))
                ours["backbone." + key].equal(tensor).all().item<bool>().Should().BeTrue(key);
            foreach (var t in file.Values) t.Dispose();
        }

        [Fact]
        public void Should_list_what_does_not_fit_when_the_checkpoint_is_another_width()
        {
            using var dir = new TempFolder();
            var path = dir.Combine("mobilenext_050.pth");
            using (var classifier = new MobileNeXtNet(new MobileNeXtOptions { Width = 0.5 }))
                ModelWeights.SavePyTorch(classifier, path);
            using var model = SsdLite.CreateMobileNeXt();
            var act = () => model.LoadBackboneWeights(path);
            act.Should().Throw<WeightsMismatchException>().WithMessage("*0.0.weight*");
        }
    }

    public class Detect
    {
        [Fact]
        public void Should_find_the_reference_detections_of_image_0()
        {
            using var model = TestSupport.ReferenceDetector();
            var detections = model.Detect(TestSupport.Vectors["input"]);
            TestSupport.ShouldMatchAsASet(detections[0], TestSupport.ReferenceDetections());
        }
    }

    public class Fuse
    {
        [Fact]
        public void Should_reproduce_the_reference_with_every_BatchNorm_folded()
        {
            using var model = TestSupport.ReferenceDetector();
            using var fused = model.Fuse();
            fused.modules().OfType<TorchSharp.Modules.BatchNorm>().Should().BeEmpty();
            fused.IsFused.Should().BeTrue();
            using var _ = no_grad();
            var (scores, boxes) = fused.call(TestSupport.Vectors["input"]);
            using (scores)
            using (boxes)
                TestSupport.ShouldMatchTheReferenceOutputs(scores, boxes);
            TestSupport.ShouldMatchAsASet(fused.Detect(TestSupport.Vectors["input"])[0], TestSupport.ReferenceDetections());
        }

        [Fact]
        public void Should_refuse_to_fuse_twice()
        {
            using var model = SsdLite.CreateMobileNeXt();
            using var fused = model.Fuse();
            var act = () => fused.Fuse();
            act.Should().Throw<InvalidOperationException>().WithMessage("*already fused*");
        }
    }

    public class Bad_input
    {
        [Fact]
        public void Should_name_the_expected_shape_when_the_input_is_not_320()
        {
            using var model = SsdLite.CreateMobileNeXt();
            using var x = zeros(1, 3, 300, 300);
            var act = () => model.call(x);
            act.Should().Throw<ArgumentException>().WithMessage("*N×3×320×320*");
        }

        [Fact]
        public void Should_name_the_valid_range_of_a_tap_outside_the_backbone()
        {
            var network = new MobileNeXtNet(new MobileNeXtOptions { NumClasses = 0 });
            var act = () => new SsdLite(network, [new BackboneTap(13, true), new BackboneTap(40, false)]);
            act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*within the backbone's 21 layers*");
            network.Dispose();
        }

        [Fact]
        public void Should_refuse_priors_that_do_not_match_the_levels()
        {
            var act = () => SsdLite.CreateMobileNeXt(new SsdLiteOptions { Priors = new SsdLiteOptions().Priors.Take(5).ToList() });
            act.Should().Throw<ArgumentException>().WithMessage("*5 levels*6*");
        }
    }
}
