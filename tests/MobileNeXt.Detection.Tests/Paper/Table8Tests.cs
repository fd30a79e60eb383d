using MobileNeXt.Detection.Paper;

namespace MobileNeXt.Detection.Tests.Paper;

public class Table8Tests
{
    [Fact]
    public void Should_print_the_paper_s_rows_beside_the_measured_detectors_and_say_why_they_differ()
    {
        var rows = Table8.Rows();
        // Table 8 as printed: SSDLite320 MobileNetV2 4.3 M / 0.8 B / 71.7 mAP, MobileNeXt 4.3 M / 0.8 B / 72.6.
        rows.Select(r => (r.Paper.ParamsMillions, r.Paper.MAddsMillions, r.Paper.Top1)).Should().Equal((4.3, 800.0, 71.7), (4.3, 800.0, 72.6));
        // manifest.json: the released VOC detector's 3,476,308 params and 708,726,528 MACs.
        rows[1].Params.Should().Be(3_476_308);
        rows[1].Macs.Should().Be(708_726_528);
        foreach (var row in rows)
        {
            row.ParamsWithinTolerance.Should().BeFalse();
            row.Note.Should().Contain("81 classes").And.Contain("reused");
        }
    }
}
