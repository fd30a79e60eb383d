using MobileNeXt.Paper;

namespace MobileNeXt.Core.Tests.Paper;

public class PaperReportTests
{
    [Fact]
    public void Should_reproduce_every_table_2_shape_and_explain_the_960_stage()
    {
        var rows = PaperReport.Table2();
        rows.Should().HaveCount(9);
        rows.Should().OnlyContain(r => r.Shape == r.PaperShape, "Table 2's output shapes hold exactly at 224²");
        var differing = rows.Where(r => r.Repeats != r.PaperRepeats).ToList();
        differing.Should().ContainSingle().Which.Row.Should().Be(8, "only the 960 stage differs: b = 3 released vs 2 printed");
        differing[0].Note.Should().NotBeNullOrEmpty();
    }

    [Fact]
    public void Should_explain_every_table_3_row_outside_the_stated_tolerance()
    {
        var rows = PaperReport.Table3();
        rows.Should().HaveCount(10, "Table 3 has ten rows");
        foreach (var row in rows)
        {
            bool within = Math.Abs(row.ParamsDeltaMillions) <= PaperReport.ParamsToleranceMillions
                          && Math.Abs(row.MacsDeltaMillions) <= PaperReport.MAddsToleranceMillions;
            (row.ParamsWithinTolerance && row.MacsWithinTolerance).Should().Be(within);
            if (within) row.Note.Should().BeNull();
            else row.Note.Should().NotBeNullOrEmpty($"{row.Model} deviates from the paper and must say why");
        }
    }

    [Theory]
    // Table 3 rows 2, 4, 5 (MobileNetV2 1.0, 0.5, 0.35) are reproduced by architecture.md's MAC convention.
    [InlineData("mobilenetv2_100")]
    [InlineData("mobilenetv2_050")]
    [InlineData("mobilenetv2_035")]
    // Row 6 (MobileNeXt-1.40) agrees too: 6.126 M vs 6.1 M, 588.3 M vs 590 M.
    [InlineData("mobilenext_140")]
    public void Should_agree_with_the_paper_where_the_conventions_match(string model)
    {
        var row = PaperReport.Table3().Single(r => r.Model == model);
        row.ParamsWithinTolerance.Should().BeTrue();
        row.MacsWithinTolerance.Should().BeTrue();
    }

    [Fact]
    public void Should_quote_table_2_as_printed_at_3_2_million_params()
    {
        // architecture.md: with n = 2 for the 960 stage the 1.0 network would have 3,204,856 parameters.
        var note = PaperReport.Table3().Single(r => r.Model == "mobilenext_100").Note;
        note.Should().Contain("3.205 M params");
    }

    [Fact]
    public void Should_put_table_6_beside_the_released_mobilenext_dagger_counts()
    {
        // Table 6: 1.0† 3.94 M / 330 M, 1.1† 4.28 M / 420 M. followon-models.md §A: the released code builds 3,937,011 /
        // 330.18 M (b0) and 4,287,498 / 415.06 M (b1), each with an unused 1280-channel BatchNorm (2 × 1280 parameters).
        var rows = PaperReport.Table6();
        rows.Select(r => r.Model).Should().Equal("mobilenext_se_100", "mobilenext_se_110");
        var b0 = rows[0];
        (b0.ParamsWithinTolerance && b0.MacsWithinTolerance).Should().BeTrue("3.937 M rounds to 3.94 and 330.2 M to 330");
        b0.Note.Should().BeNull();
        var b1 = rows[1];
        b1.MacsWithinTolerance.Should().BeTrue("415.06 M lies within 5 M of 420");
        b1.ParamsWithinTolerance.Should().BeFalse("4.2875 M does not round to 4.28");
        b1.Note.Should().Contain("4,284,938", "4,287,498 − 2 × 1,280 without the unused _bn1, which does round to 4.28");
    }

    [Fact]
    public void Should_build_table_5s_mobilenetv2_with_one_more_depthwise_conv_per_block()
    {
        // Sandler et al., Table 2: (t, c, n, s) from a 32-channel 112² stem; torchvision's MobileNetV2-1.0 has 3,504,872
        // parameters and 300,774,272 MACs (architecture.md). One more 3×3 depthwise conv + BN per block, on the expanded
        // width at the block's input resolution, adds 9·h·H·W MACs and 9·h + 2·h parameters.
        (int T, int C, int N, int S)[] stages = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)];
        long macs = 300_774_272, parameters = 3_504_872;
        int input = 32, size = 112;
        foreach (var (t, c, n, s) in stages)
            for (int i = 0; i < n; i++)
            {
                long hidden = input * t;
                macs += 9 * hidden * size * size;
                parameters += 11 * hidden;
                if (i == 0) size /= s;
                input = c;
            }

        var row = PaperReport.Table5().Should().ContainSingle().Subject;
        row.Model.Should().Be("mobilenetv2_dw_100");
        row.Macs.Should().Be(macs);
        row.Params.Should().Be(parameters);
        row.ParamsWithinTolerance.Should().BeTrue("3.58 M rounds to Table 5's 3.6 M");
        row.MacsWithinTolerance.Should().BeFalse("no one-extra-depthwise reading reaches Table 5's 340 M");
        row.Note.Should().Contain("in the middle of each inverted residual block");
    }
}
