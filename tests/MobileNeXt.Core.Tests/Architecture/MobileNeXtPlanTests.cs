using MobileNeXt.Architecture;

namespace MobileNeXt.Core.Tests.Architecture;

public class MobileNeXtPlanTests
{
    private static string Describe(MobileNeXtPlan plan) => string.Join(" | ", plan.Blocks);

    public class ReleasedLayout
    {
        [Fact]
        public void Should_list_architecture_md_blocks_at_width_1()
        {
            // architecture.md, "Stage outputs at w = 1.0": the block list, ×n expanded.
            const string expected =
                "32>96 h16 s2 | 96>144 h32 | 144>192 h32 s2 | 192>192 h32 +id | 192>192 h32 +id | 192>288 h48 s2 | " +
                "288>288 h48 +id | 288>288 h48 +id | 288>384 h64 | 384>384 h64 +id | 384>384 h64 +id | 384>384 h64 +id | " +
                "384>576 h96 s2 | 576>576 h96 +id | 576>576 h96 +id | 576>576 h96 +id | 576>960 h160 | 960>960 h160 +id | " +
                "960>960 h160 +id | 960>1280 h208";
            var plan = MobileNeXtPlan.Create();
            plan.StemChannels.Should().Be(32);
            Describe(plan).Should().Be(expected);
        }

        [Fact]
        public void Should_apply_the_channel_rules_at_width_0_5()
        {
            // architecture.md rules at w = 0.5: stem 16; stages MakeDivisible(c/2, 8) = 48, 72, 96, 144, 192, 288, 480;
            // the 1280 stage stays 1280 (w < 1); hidden = in/t raised to MakeDivisible(ceil(out/6), 16) when below out/6.
            // The reference weights' shapes (Fixtures/mobilenext_w050) confirm every width (see ReleasedParityTests).
            const string expected =
                "16>48 h8 s2 | 48>72 h16 | 72>96 h16 s2 | 96>96 h16 +id | 96>96 h16 +id | 96>144 h32 s2 | " +
                "144>144 h24 +id | 144>144 h24 +id | 144>192 h32 | 192>192 h32 +id | 192>192 h32 +id | 192>192 h32 +id | " +
                "192>288 h48 s2 | 288>288 h48 +id | 288>288 h48 +id | 288>288 h48 +id | 288>480 h80 | 480>480 h80 +id | " +
                "480>480 h80 +id | 480>1280 h208";
            var plan = MobileNeXtPlan.Create(new MobileNeXtOptions { Width = 0.5 });
            plan.StemChannels.Should().Be(16);
            Describe(plan).Should().Be(expected);
        }

        [Theory]
        [InlineData(0.35, 16)]
        [InlineData(0.5, 16)]
        [InlineData(0.75, 24)]
        [InlineData(1.0, 32)]
        [InlineData(1.4, 48)]
        public void Should_size_the_stem_as_architecture_md(double width, int stem) =>
            MobileNeXtPlan.Create(new MobileNeXtOptions { Width = width }).StemChannels.Should().Be(stem);

        [Theory]
        [InlineData(0.35, 1280)]
        [InlineData(0.75, 1280)]
        [InlineData(1.0, 1280)]
        [InlineData(1.4, 1792)]
        public void Should_keep_the_last_stage_at_1280_below_width_1(double width, int last) =>
            MobileNeXtPlan.Create(new MobileNeXtOptions { Width = width }).FeatureChannels.Should().Be(last);

        [Fact]
        public void Should_have_twelve_shortcuts_and_twenty_blocks()
        {
            // architecture.md: "exactly 12 shortcuts: the repeated blocks of the 192, 288, 384, 576 and 960 stages".
            var plan = MobileNeXtPlan.Create();
            plan.Blocks.Should().HaveCount(20);
            plan.Blocks.Count(b => b.HasShortcut).Should().Be(12);
        }

        [Fact]
        public void Should_use_hidden_widths_that_are_not_multiples_of_8_at_width_0_75()
        {
            // architecture.md: "w=0.75 has 12, 36, 120".
            var hidden = MobileNeXtPlan.Create(new MobileNeXtOptions { Width = 0.75 }).Blocks.Select(b => b.HiddenChannels).Distinct().ToList();
            hidden.Should().Contain([12, 36, 120]);
        }

        [Fact]
        public void Should_give_blocks_the_layers_architecture_md_lists()
        {
            var b = MobileNeXtPlan.Create().Blocks;
            (b[0].FirstDepthwise, b[0].LastDepthwise).Should().Be((true, true));     // first block (t = 2)
            (b[1].FirstDepthwise, b[1].LastDepthwise, b[1].HasShortcut).Should().Be((true, true, false)); // 96>144 keep3x3
            (b[2].FirstDepthwise, b[2].LastDepthwise).Should().Be((false, true));    // 144>192 s2: pw-pw-dw
            (b[8].FirstDepthwise, b[8].LastDepthwise).Should().Be((false, false));   // 288>384: pw-pw
            (b[16].FirstDepthwise, b[16].LastDepthwise).Should().Be((false, false)); // 576>960: pw-pw
            (b[19].FirstDepthwise, b[19].LastDepthwise, b[19].HasShortcut).Should().Be((true, true, false)); // 960>1280 keep3x3
        }
    }

    public class UniformLayout
    {
        [Fact]
        public void Should_use_the_table_1_block_everywhere()
        {
            var plan = MobileNeXtPlan.Create(new MobileNeXtOptions { Variant = MobileNeXtVariant.Uniform });
            plan.Blocks.Should().OnlyContain(b => b.FirstDepthwise && b.LastDepthwise);
            // Sec. 3.2: a shortcut iff input and output channels match (and stride 1); hidden = M / t.
            plan.Blocks.Should().OnlyContain(b => b.HasShortcut == (b.InChannels == b.OutChannels && b.Stride == 1));
            plan.Blocks.Should().OnlyContain(b => b.HiddenChannels == b.InChannels / (b.InChannels == 32 ? 2 : 6));
        }
    }

    public class ChannelRoundingRule
    {
        [Theory]
        // MakeDivisible(v, 8) = max(8, floor(v + 4) / 8 * 8), + 8 when below 0.9 v (architecture.md).
        [InlineData(11.2, 16)]   // 32 × 0.35
        [InlineData(67.2, 64)]   // 192 × 0.35: 64 ≥ 0.9 × 67.2
        [InlineData(100.8, 104)] // 288 × 0.35
        [InlineData(3.0, 8)]     // never below the divisor
        [InlineData(9.6, 16)]    // 8 < 0.9 × 9.6 = 8.64, so + 8
        public void Should_round_to_the_nearest_multiple_of_8(double value, int expected) =>
            ChannelRounding.MakeDivisible(value).Should().Be(expected);
    }
}
