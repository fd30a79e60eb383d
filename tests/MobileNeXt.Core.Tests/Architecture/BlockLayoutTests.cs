using MobileNeXt.Architecture;
using MobileNeXt.Layers;
using MobileNeXt.Models;
using TorchSharp.Modules;

namespace MobileNeXt.Core.Tests.Architecture;

/// <summary>
/// The paper's block variants (Fig. 4 / Table 10) and ablations (Sec. 4.4) as layouts of the one block: their sizes
/// against a closed form written here, layer by layer, and their conv sequences against the figure's reading.
/// </summary>
public class BlockLayoutTests
{
    /// <summary>Counts params and MACs of convs (each followed by a BatchNorm: 2 parameters per channel) by hand.</summary>
    internal sealed class ClosedForm
    {
        public long Params { get; private set; }
        public long Macs { get; private set; }

        /// <summary>A k×k conv writing <paramref name="output"/> channels at <paramref name="size"/>², plus its BatchNorm.</summary>
        public void Conv(long input, long output, long kernel, long size, bool depthwise = false)
        {
            long perOutput = (depthwise ? 1 : input) * kernel * kernel;
            Params += output * perOutput + 2 * output;
            Macs += output * size * size * perOutput;
        }

        public void Pw(long input, long output, long size) => Conv(input, output, 1, size);

        public void Dw(long channels, long size) => Conv(channels, channels, 3, size, depthwise: true);

        /// <summary>Stem (Table 2 row 1: 3×3 stride 2 to 32 channels at 112²) and the 1280 → 1000 classifier.</summary>
        public static ClosedForm WithStemAndClassifier()
        {
            var c = new ClosedForm();
            c.Conv(3, 32, 3, 112);
            c.Params += 1280 * 1000 + 1000;
            c.Macs += 1280 * 1000;
            return c;
        }
    }

    // MobileNeXt-1.0's blocks as architecture.md lists them (in, out, hidden, stride, repeats), from a 112² stem.
    private static readonly (int In, int Out, int Hidden, int Stride, int Repeats)[] MobileNeXtBlocks =
    [
        (32, 96, 16, 2, 1), (96, 144, 32, 1, 1), (144, 192, 32, 2, 1), (192, 192, 32, 1, 2), (192, 288, 48, 2, 1), (288, 288, 48, 1, 2),
        (288, 384, 64, 1, 1), (384, 384, 64, 1, 3), (384, 576, 96, 2, 1), (576, 576, 96, 1, 3), (576, 960, 160, 1, 1), (960, 960, 160, 1, 2),
        (960, 1280, 208, 1, 1),
    ];

    // MobileNetV2's (t, c, n, s) (Sandler et al. 2018, Table 2), from a 32-channel 112² stem.
    private static readonly (int T, int C, int N, int S)[] MobileNetV2Stages =
        [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)];

    /// <summary>The closed form over MobileNeXt's blocks: <paramref name="block"/> adds one block's convs given (in, out, hidden, stride, input size).</summary>
    internal static ClosedForm OverMobileNeXt(Action<ClosedForm, int, int, int, int, int> block)
    {
        var c = ClosedForm.WithStemAndClassifier();
        int size = 112;
        foreach (var (input, output, hidden, stride, repeats) in MobileNeXtBlocks)
            for (int i = 0; i < repeats; i++)
            {
                block(c, i == 0 ? input : output, output, hidden, i == 0 ? stride : 1, size);
                if (i == 0) size /= stride;
            }
        return c;
    }

    /// <summary>The closed form over MobileNetV2's table (hidden = in · t), with its 1×1 conv 320 → 1280 at 7².</summary>
    internal static ClosedForm OverMobileNetV2(Action<ClosedForm, int, int, int, int, int> block)
    {
        var c = ClosedForm.WithStemAndClassifier();
        int input = 32, size = 112;
        foreach (var (t, output, n, s) in MobileNetV2Stages)
            for (int i = 0; i < n; i++)
            {
                block(c, input, output, input * t, i == 0 ? s : 1, size);
                if (i == 0) size /= s;
                input = output;
            }
        c.Pw(320, 1280, 7);
        return c;
    }

    public static TheoryData<string, long, long> PinnedSizes() => new()
    {
        // Fig. 4(a): pw reduce at the input size, dw (stride s), pw expand at the output size.
        { "mobilenext_fig4a_100", 3_386_168, 238_461_168 },
        // Fig. 4(b): pw reduce, dw, dw (stride s), pw expand.
        { "mobilenext_fig4b_100", 3_403_944, 244_084_800 },
        // Fig. 4(c), on MobileNetV2's table: dw in, [pw expand unless t = 1], pw reduce (stride s), dw out.
        { "mobilenext_fig4c_100", 3_456_296, 293_831_168 },
        // Sec. 4.4's ablations keep mobilenext_100's convs (regrouped, or with one more activation, which has no parameters and
        // no MACs), so they have its figures (architecture.md).
        { "mobilenext_narrow_shortcut_100", 3_535_416, 311_342_592 },
        { "mobilenext_relu6_residual_100", 3_535_416, 311_342_592 },
    };

    private static ClosedForm Expected(string name) => name switch
    {
        "mobilenext_fig4a_100" => OverMobileNeXt((c, i, o, h, s, r) => { c.Pw(i, h, r); c.Dw(h, r / s); c.Pw(h, o, r / s); }),
        "mobilenext_fig4b_100" => OverMobileNeXt((c, i, o, h, s, r) => { c.Pw(i, h, r); c.Dw(h, r); c.Dw(h, r / s); c.Pw(h, o, r / s); }),
        "mobilenext_fig4c_100" => OverMobileNetV2((c, i, o, h, s, r) =>
        {
            c.Dw(i, r);
            if (h != i) c.Pw(i, h, r);
            c.Pw(h, o, r / s);
            c.Dw(o, r / s);
        }),
        _ => new ClosedForm(),
    };

    [Theory]
    [MemberData(nameof(PinnedSizes))]
    public void Should_have_the_params_and_MACs_of_the_closed_form(string name, long parameters, long macs)
    {
        var card = ModelRegistry.GetCard(name);
        if (!name.StartsWith("mobilenext_fig4", StringComparison.Ordinal)) (parameters, macs).Should().Be((3_535_416, 311_342_592), "architecture.md's mobilenext_100");
        else
        {
            var expected = Expected(name);
            (expected.Params, expected.Macs).Should().Be((parameters, macs), "the pinned figures are the closed form's");
        }
        card.Params.Should().Be(parameters);
        card.Macs.Should().Be(macs);
    }

    /// <summary>One block's layers, in the notation of Fig. 4: pw in&gt;out, dw channels, /2 for a stride, bn, relu6.</summary>
    private static string Describe(SandglassBlock block) => string.Join(" ", block.Layers.children().Select(m => m switch
    {
        Conv2d c when c.kernel_size[0] == 3 => $"dw{c.in_channels}{(c.stride[0] == 2 ? "/2" : "")}",
        Conv2d c => $"pw{c.in_channels}>{c.out_channels}{(c.stride[0] == 2 ? "/2" : "")}",
        BatchNorm => "bn",
        ReLU6 => "relu6",
        _ => m.GetType().Name,
    }));

    [Theory]
    // Fig. 4(a): bottleneck, 3×3 made depthwise; stride on the dw; linear expansion before the shortcut.
    [InlineData("mobilenext_fig4a_100", 3, "pw144>32 bn relu6 dw32/2 bn relu6 pw32>192 bn", false)]
    [InlineData("mobilenext_fig4a_100", 4, "pw192>32 bn relu6 dw32 bn relu6 pw32>192 bn", true)]
    // Fig. 4(b): a second dw in the bottleneck, before the strided one.
    [InlineData("mobilenext_fig4b_100", 3, "pw144>32 bn relu6 dw32 bn relu6 dw32/2 bn relu6 pw32>192 bn", false)]
    [InlineData("mobilenext_fig4b_100", 4, "pw192>32 bn relu6 dw32 bn relu6 dw32 bn relu6 pw32>192 bn", true)]
    // Fig. 4(c): the sandglass's pws swapped: dws on the narrow ends; MobileNetV2's t = 1 block has no expansion.
    [InlineData("mobilenext_fig4c_100", 1, "dw32 bn relu6 pw32>16 bn dw16 bn", false)]
    [InlineData("mobilenext_fig4c_100", 2, "dw16 bn relu6 pw16>96 bn relu6 pw96>24/2 bn dw24 bn", false)]
    [InlineData("mobilenext_fig4c_100", 3, "dw24 bn relu6 pw24>144 bn relu6 pw144>24 bn dw24 bn", true)]
    // Sec. 4.4: the sandglass sequence cut at its bottlenecks: expand, dw (linear, the stride), dw, reduce (linear); the
    // first block is the first sandglass block's head, the last one the last block's tail.
    [InlineData("mobilenext_narrow_shortcut_100", 1, "dw32 bn relu6 pw32>16 bn", false)]
    [InlineData("mobilenext_narrow_shortcut_100", 2, "pw16>96 bn relu6 dw96/2 bn dw96 bn relu6 pw96>32 bn", false)]
    [InlineData("mobilenext_narrow_shortcut_100", 3, "pw32>144 bn relu6 dw144 bn pw144>32 bn", true)] // 144>192 has no first dw
    [InlineData("mobilenext_narrow_shortcut_100", 10, "pw64>384 bn relu6 dw384 bn relu6 pw384>64 bn", true)] // 288>384 has no dw
    [InlineData("mobilenext_narrow_shortcut_100", 21, "pw208>1280 bn relu6 dw1280 bn", false)]
    // Sec. 4.4: ReLU6 after the last conv; the released positional blocks otherwise unchanged.
    [InlineData("mobilenext_relu6_residual_100", 4, "dw192 bn relu6 pw192>32 bn pw32>192 bn relu6 dw192 bn relu6", true)]
    [InlineData("mobilenext_relu6_residual_100", 3, "pw144>32 bn pw32>192 bn relu6 dw192/2 bn relu6", false)]
    [InlineData("mobilenext_100", 4, "dw192 bn relu6 pw192>32 bn pw32>192 bn relu6 dw192 bn", true)]
    public void Should_build_the_conv_sequence_of_the_reading(string name, int index, string layers, bool shortcut)
    {
        using var model = (MobileNeXtNet)ModelRegistry.Create(name);
        var block = model.Blocks.ElementAt(index - 1);
        Describe(block).Should().Be(layers);
        block.Spec.HasShortcut.Should().Be(shortcut);
    }

    [Fact]
    public void Should_cut_mobilenext_100_s_layers_at_the_bottlenecks_for_the_narrow_shortcut_ablation()
    {
        // The same convs, norms and activations in the same order, grouped into 21 blocks instead of 20 ...
        using var released = (MobileNeXtNet)ModelRegistry.Create("mobilenext_100");
        using var ablation = (MobileNeXtNet)ModelRegistry.Create("mobilenext_narrow_shortcut_100");
        string.Join(" ", ablation.Blocks.Select(Describe)).Should().Be(string.Join(" ", released.Blocks.Select(Describe)));
        ablation.Blocks.Should().HaveCount(21);
        // ... whose shortcuts join bottlenecks of equal width at stride 1: sandglass blocks k and k + 1 with equal hidden
        // widths and no stride in block k (architecture.md's hidden widths 16, 32, 32, 32, 32, 48, 48, 48, 64 ×4, 96 ×4,
        // 160 ×3, 208 and strides 2 at blocks 1, 3, 6, 13): features.3, 5, 8, 10–12, 15, 16, 18, 19.
        int[] hidden = [16, 32, 32, 32, 32, 48, 48, 48, 64, 64, 64, 64, 96, 96, 96, 96, 160, 160, 160, 208];
        int[] strided = [1, 3, 6, 13];
        var expected = Enumerable.Range(1, 19).Where(k => hidden[k - 1] == hidden[k] && !strided.Contains(k)).Select(k => k + 1);
        expected.Should().Equal(3, 5, 8, 10, 11, 12, 15, 16, 18, 19);
        ablation.Blocks.Select((b, i) => (b, i + 1)).Where(x => x.b.Spec.HasShortcut).Select(x => x.Item2).Should().Equal(expected);
        released.Blocks.Count(b => b.Spec.HasShortcut).Should().Be(12, "architecture.md: the released network has 12 shortcuts");
    }

    [Fact]
    public void Should_keep_mobilenext_100_s_state_dict_keys_for_the_ReLU6_ablation()
    {
        // ReLU6 has no state: the ablation loads the released checkpoints' keys and shapes.
        using var released = ModelRegistry.Create("mobilenext_100");
        using var ablation = ModelRegistry.Create("mobilenext_relu6_residual_100");
        var expected = released.state_dict();
        var actual = ablation.state_dict();
        actual.Keys.Should().Equal(expected.Keys);
        foreach (var (key, tensor) in actual) tensor.shape.Should().Equal(expected[key].shape, key);
        expected.Should().HaveCount(446, "architecture.md");
    }

    [Fact]
    public void Should_count_table_10_s_depthwise_convs()
    {
        BlockLayout.Fig4a.DepthwiseConvs.Should().Be(1);
        BlockLayout.Fig4b.DepthwiseConvs.Should().Be(2);
        BlockLayout.Fig4c.DepthwiseConvs.Should().Be(2);
        BlockLayout.Sandglass.DepthwiseConvs.Should().Be(2);
    }

    public class BadConfigurations
    {
        [Theory]
        [InlineData("mobilenext_fig4c_100")]
        [InlineData("mobilenext_narrow_shortcut_100")]
        public void Should_refuse_an_identity_multiplier_on_a_narrow_shortcut(string name)
        {
            var act = () => ModelRegistry.Create(name, new ModelCreateOptions { IdentityMultiplier = 0.5 });
            act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*shortcuts join narrow tensors*defined on the wide shortcut only. Leave it at 1.*");
            using var model = (MobileNeXtNet)ModelRegistry.Create(name);
            var set = () => model.SetIdentityMultiplier(0.5);
            set.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*shortcuts join narrow tensors*");
        }

        [Fact]
        public void Should_accept_an_identity_multiplier_on_a_wide_shortcut()
        {
            using var model = (MobileNeXtNet)ModelRegistry.Create("mobilenext_fig4a_100", new ModelCreateOptions { IdentityMultiplier = 0.5 });
            model.Blocks.Where(b => b.Spec.HasShortcut).Select(b => b.ShortcutChannels).Should().Contain(96, "⌊192 / 2⌋");
        }

        [Fact]
        public void Should_refuse_a_positional_variant_on_mobilenetv2_s_table()
        {
            var act = () => MobileNeXtPlan.Create(new MobileNeXtOptions { Layout = BlockLayout.Fig4c, Variant = MobileNeXtVariant.Uniform });
            act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*built on MobileNetV2's stage table*leave Variant at Released*");
        }

        [Fact]
        public void Should_refuse_a_layout_that_strides_twice_or_does_not_chain()
        {
            var twice = BlockLayout.Fig4b with { Steps = BlockLayout.Fig4b.Steps.Select(s => s with { Strided = s.Depthwise }).ToList() };
            var act = () => MobileNeXtPlan.Create(new MobileNeXtOptions { Layout = twice });
            act.Should().Throw<ArgumentException>().WithMessage("*must mark exactly one conv as carrying the stride*");
            var broken = BlockLayout.Fig4a with { Steps = BlockLayout.Fig4a.Steps.Skip(1).ToList() };
            var chain = () => MobileNeXtPlan.Create(new MobileNeXtOptions { Layout = broken });
            chain.Should().Throw<ArgumentException>().WithMessage("*reads Hidden where the previous one wrote Input*");
        }
    }
}
