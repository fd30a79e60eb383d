using MobileNeXt.Architecture;
using MobileNeXt.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Core.Tests.Models;

public class ModelInterfaceTests
{
    public static TheoryData<string> AllModels()
    {
        var data = new TheoryData<string>();
        foreach (var name in ModelRegistry.Names) data.Add(name);
        return data;
    }

    [Theory]
    [MemberData(nameof(AllModels))]
    public void Should_build_every_registry_model_and_answer_the_same_questions(string name)
    {
        using var model = ModelRegistry.Create(name, new ModelCreateOptions { NumClasses = 7 });
        model.eval();
        using var _ = no_grad();
        using var x = randn(2, 3, 64, 64);
        using var logits = model.call(x);
        logits.shape.Should().Equal(2, 7);
        using var features = model.ForwardFeatures(x);
        features.shape.Should().Equal(2, model.NumFeatures, 2, 2); // 64 / 32
        using var pooled = model.ForwardHead(features, preLogits: true);
        pooled.shape.Should().Equal(2, model.NumFeatures);
        using var head = model.ForwardHead(features);
        TestSupport.MaxAbsDiff(head, logits).Should().Be(0f, "call = ForwardHead(ForwardFeatures) in eval mode");
    }

    [Theory]
    [InlineData("mobilenext_100", 192, 576, 1280)] // Sec. 4.5: SSDLite at the last pw of stride 16 (576) and the end
    [InlineData("mobilenetv2_100", 32, 576, 1280)] // MobileNetV2 paper: expansion of layer 15 at stride 16
    [InlineData("mobilenext_se_100", 192, 384, 1280)] // the last block of each output stride
    [InlineData("mobilenext_fig4a_100", 192, 384, 1280)] // Fig. 4(a) expands after its stride: the last stride-16 block
    [InlineData("mobilenext_fig4c_100", 32, 576, 1280)] // MobileNetV2's table: the expansion (96 · 6) at stride 16, the 1×1 conv
    [InlineData("mobilenext_narrow_shortcut_100", 48, 576, 1280)] // its blocks end on bottlenecks: the last stride-8 one is 48 wide
    [InlineData("mobilenext_relu6_residual_100", 192, 576, 1280)] // mobilenext_100's taps
    public void Should_expose_feature_taps_at_strides_8_16_32(string name, int c8, int c16, int c32)
    {
        using var model = ModelRegistry.Create(name);
        model.eval();
        using var _ = no_grad();
        using var x = randn(1, 3, 224, 224);
        var taps = model.ForwardFeatureTaps(x);
        model.FeatureTaps.Select(t => t.Stride).Should().Equal(8, 16, 32);
        model.FeatureTaps.Select(t => t.Channels).Should().Equal(c8, c16, c32);
        for (int i = 0; i < 3; i++)
        {
            int size = 224 / model.FeatureTaps[i].Stride;
            taps[i].shape.Should().Equal(1, model.FeatureTaps[i].Channels, size, size);
        }
        using var features = model.ForwardFeatures(x);
        TestSupport.MaxAbsDiff(taps[2], features).Should().Be(0f, "the stride-32 tap is the backbone's output");
        foreach (var t in taps) t.Dispose();
    }

    [Fact]
    public void Should_reset_the_classifier_to_a_new_class_count()
    {
        using var model = ModelRegistry.Create("mobilenext_050");
        long before = model.parameters().Sum(p => p.numel());
        model.ResetClassifier(10);
        model.NumClasses.Should().Be(10);
        // 1280·1000 + 1000 weights and biases become 1280·10 + 10.
        model.parameters().Sum(p => p.numel()).Should().Be(before - (1280 * 1000 + 1000) + (1280 * 10 + 10));
        model.state_dict().Keys.Should().Contain("classifier.1.weight");
        model.eval();
        using var _ = no_grad();
        using var x = randn(1, 3, 32, 32);
        model.call(x).shape.Should().Equal(1, 10);
        model.ResetClassifier(0);
        model.call(x).shape.Should().Equal(1, 1280);
    }

    [Fact]
    public void Should_accept_any_input_size_from_32()
    {
        using var model = new MobileNeXtNet(new MobileNeXtOptions { Width = 0.35, NumClasses = 3 });
        model.eval();
        using var _ = no_grad();
        foreach (var (h, w) in new[] { (32, 32), (33, 47), (160, 96) })
        {
            using var x = randn(1, 3, h, w);
            model.call(x).shape.Should().Equal(1, 3);
        }
    }

    [Fact]
    public void Should_initialise_as_the_released_code()
    {
        // architecture.md: conv normal(0, sqrt(2 / (kh·kw·out))), BN 1 / 0, Linear normal(0, 0.01) with zero bias.
        using var model = new MobileNeXtNet(new MobileNeXtOptions { Width = 1.4 });
        var sd = model.state_dict();
        double expected = Math.Sqrt(2.0 / (3 * 3 * 1792)); // the last dw conv, 1792 channels
        sd["features.20.conv.8.weight"].std().item<float>().Should().BeApproximately((float)expected, (float)(expected * 0.1));
        sd["features.20.conv.9.weight"].min().item<float>().Should().Be(1f);
        sd["classifier.1.weight"].std().item<float>().Should().BeApproximately(0.01f, 0.0005f);
        sd["classifier.1.bias"].abs().max().item<float>().Should().Be(0f);
    }

    [Fact]
    public void Should_list_twenty_three_models_with_cards()
    {
        ModelRegistry.Names.Should().Contain(["mobilenext_035", "mobilenext_050", "mobilenext_075", "mobilenext_100", "mobilenext_140",
            "mobilenext_uniform_100", "mobilenetv2_100", "mobilenetv2_dw_100", "mobilenext_se_100", "mobilenext_se_110",
            "mobilenext_fig4a_100", "mobilenext_fig4b_100", "mobilenext_fig4c_100", "mobilenext_narrow_shortcut_100", "mobilenext_relu6_residual_100"]);
        // 5 widths × 3 families, MobileNetV2 + dw, MobileNeXt† 1.0 and 1.1, Table 10's three variants, Sec. 4.4's two ablations
        ModelRegistry.Models.Should().HaveCount(23);
        var card = ModelRegistry.GetCard("mobilenext_100");
        card.Paper!.Top1.Should().Be(74.0); // Table 3, row 7
        card.Params.Should().Be(3_535_416);
    }
}
