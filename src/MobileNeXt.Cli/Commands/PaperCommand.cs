using System.CommandLine;
using System.Globalization;
using MobileNeXt.Detection.Paper;
using MobileNeXt.Paper;
using Spectre.Console;
using static MobileNeXt.Cli.Format;

namespace MobileNeXt.Cli;

/// <summary><c>mobilenext paper</c>: Tables 2, 3, 5, 6, 8 and 10 and the Sec. 4.4 ablations beside this implementation.</summary>
internal static class PaperCommand
{
    public static Command Create()
    {
        var command = new Command("paper", "Compare the paper's Table 2 (architecture), Table 3 (params, MAdds, top-1), Table 5 (MobileNetV2 + dw), Table 6 (MobileNeXt†), Table 10 (the Fig. 4 block variants), the Sec. 4.4 ablations and Table 8 (SSDLite320 detection) with what this library builds, and say why they differ.");
        command.SetAction(_ =>
        {
            TorchRuntime.EnsureAvailable();
            var table2 = PaperReport.Table2();
            var table3 = PaperReport.Table3();

            var notes2 = new Footnotes();
            var t2 = NewTable("Table 2 — MobileNeXt-1.0 at 224², output H²×C").Columns(">row", "operator", ">output\npaper", ">\nours", ">b\npaper", ">\nours", "\nnote");
            foreach (var r in table2)
                t2.Row(r.Row.ToString(CultureInfo.InvariantCulture), r.Operator, r.PaperShape, r.Shape,
                    r.PaperRepeats.ToString(CultureInfo.InvariantCulture), r.Repeats.ToString(CultureInfo.InvariantCulture), notes2.Reference(r.Note));
            AnsiConsole.Write(t2);
            notes2.Write();
            Line();

            PrintComparison("Table 3 — ImageNet classification at 224², 1000 classes", table3, "0.0", "0.0",
                PaperReport.ParamsToleranceMillions, "Table 3). Top-1 is the paper's; this command trains nothing.");
            Line();
            PrintComparison("Table 5 — MobileNetV2 with one more depthwise conv per block (MobileNeXt's row: Table 3, mobilenext_100)",
                PaperReport.Table5(), "0.0", "0.00", PaperReport.ParamsToleranceMillions, "Table 5).");
            Line();
            PrintComparison("Table 6 — MobileNeXt† (squeeze-excite, swish) at 224²", PaperReport.Table6(), "0.00", "0.0#",
                PaperReport.Table6ParamsToleranceMillions, "Table 6).");
            Line();
            PrintComparison("Table 10 — the Fig. 4 block variants on MobileNeXt-1.0 (supplementary Sec. A)", PaperReport.Table10(), "0.0", "0.00",
                PaperReport.ParamsToleranceMillions, "Table 10).");
            Line();
            PrintAblations(PaperReport.Section44());
            Line();
            PrintComparison("Table 8 — SSDLite320 on PASCAL VOC 2007 test, 320², 21 classes", Table8.Rows(), "0.0", "0.0",
                Table8.ParamsToleranceMillions, "Table 8). mAP is the paper's; this command trains nothing.", "VOC07 mAP (%)", Table8.MAddsToleranceMillions);
            return 0;
        });
        return command;
    }

    /// <summary>Sec. 4.4's ablations: the paper's top-1 statement beside their size and cost here and <c>mobilenext_100</c>'s.</summary>
    private static void PrintAblations(IReadOnlyList<AblationRow> rows)
    {
        var notes = new Footnotes();
        var table = NewTable("Sec. 4.4 — block ablations (the paper prints no params or MAdds for them)").Columns(
            "model", "ablation", "paper, top-1 vs 74.02 %", ">params (M)", ">MACs (M)", "note");
        foreach (var r in rows)
            table.Row(r.Model, r.Ablation, r.PaperStatement, Millions(r.Params, "0.000"), Millions(r.Macs, "0.0"), notes.Reference(r.Note));
        table.Row(rows[0].Baseline, "none (the sandglass network)", "74.02 (Table 10)", Millions(rows[0].BaselineParams, "0.000"), Millions(rows[0].BaselineMacs, "0.0"), "");
        AnsiConsole.Write(table);
        notes.Write();
    }

    /// <summary>A table's rows — the paper's params, MAdds and top-1 beside ours, with the deviations' footnotes.</summary>
    private static void PrintComparison(string title, IReadOnlyList<Table3Row> rows, string paperParamsFormat, string top1Format,
        double paramsTolerance, string toleranceSource, string accuracy = "top-1 (%)", double macsTolerance = PaperReport.MAddsToleranceMillions)
    {
        var notes = new Footnotes();
        var table = NewTable(title).Columns(
            "model", ">params (M)\npaper", ">\nours", ">\nΔ", ">MAdds (M)\npaper", ">MACs (M)\nours", ">\nΔ", $">{accuracy}\npaper",
            "params\nwithin tol.", "MAdds\nwithin tol.", "\nnote");
        foreach (var r in rows)
            table.Row(r.Model,
                Millions(r.Paper.ParamsMillions, paperParamsFormat), Millions(r.Params, "0.000"), Signed(r.ParamsDeltaMillions, "0.000"),
                Millions(r.Paper.MAddsMillions, "0"), Millions(r.Macs, "0.0"), Signed(r.MacsDeltaMillions, "0.0"),
                r.Paper.Top1.ToString(top1Format, CultureInfo.InvariantCulture),
                r.ParamsWithinTolerance ? "yes" : "no", r.MacsWithinTolerance ? "yes" : "no", notes.Reference(r.Note));
        AnsiConsole.Write(table);
        Line($"Tolerances: params ±{Number(paramsTolerance)} M and MAdds ±{Number(macsTolerance)} M " +
             "(half the last printed digit of " + toleranceSource);
        notes.Write();
    }
}
