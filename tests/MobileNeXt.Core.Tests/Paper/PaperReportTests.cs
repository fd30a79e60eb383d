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
}
