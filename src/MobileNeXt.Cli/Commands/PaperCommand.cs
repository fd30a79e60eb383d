using System.CommandLine;
using System.Globalization;
using MobileNeXt.Paper;
using Spectre.Console;
using static MobileNeXt.Cli.Format;

namespace MobileNeXt.Cli;

/// <summary><c>mobilenext paper</c>: Tables 2 and 3 of the paper beside this implementation.</summary>
internal static class PaperCommand
{
    public static Command Create()
    {
        var command = new Command("paper", "Compare the paper's Table 2 (architecture), Table 3 (params, MAdds, top-1) and Table 6 (MobileNeXt†) with what this library builds, and say why they differ.");
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

            var notes3 = new Footnotes();
            var t3 = NewTable("Table 3 — ImageNet classification at 224², 1000 classes").Columns(
                "model", ">params (M)\npaper", ">\nours", ">\nΔ", ">MAdds (M)\npaper", ">MACs (M)\nours", ">\nΔ", ">top-1 (%)\npaper",
                "params\nwithin tol.", "MAdds\nwithin tol.", "\nnote");
            foreach (var r in table3)
                t3.Row(r.Model,
                    Millions(r.Paper.ParamsMillions, "0.0"), Millions(r.Params, "0.000"), Signed(r.ParamsDeltaMillions, "0.000"),
                    Millions(r.Paper.MAddsMillions, "0"), Millions(r.Macs, "0.0"), Signed(r.MacsDeltaMillions, "0.0"),
                    r.Paper.Top1.ToString("0.0", CultureInfo.InvariantCulture),
                    r.ParamsWithinTolerance ? "yes" : "no", r.MacsWithinTolerance ? "yes" : "no", notes3.Reference(r.Note));
            AnsiConsole.Write(t3);
            Line($"Tolerances: params ±{Number(PaperReport.ParamsToleranceMillions)} M and MAdds ±{Number(PaperReport.MAddsToleranceMillions)} M " +
                 "(half the last printed digit of Table 3). Top-1 is the paper's; this command trains nothing.");
            notes3.Write();
            Line();

            var notes6 = new Footnotes();
            var t6 = NewTable("Table 6 — MobileNeXt† (squeeze-excite, swish) at 224²").Columns(
                "model", ">params (M)\npaper", ">\nours", ">\nΔ", ">MAdds (M)\npaper", ">MACs (M)\nours", ">\nΔ", ">top-1 (%)\npaper",
                "params\nwithin tol.", "MAdds\nwithin tol.", "\nnote");
            foreach (var r in PaperReport.Table6())
                t6.Row(r.Model,
                    Millions(r.Paper.ParamsMillions, "0.00"), Millions(r.Params, "0.000"), Signed(r.ParamsDeltaMillions, "0.000"),
                    Millions(r.Paper.MAddsMillions, "0"), Millions(r.Macs, "0.0"), Signed(r.MacsDeltaMillions, "0.0"),
                    r.Paper.Top1.ToString("0.0#", CultureInfo.InvariantCulture),
                    r.ParamsWithinTolerance ? "yes" : "no", r.MacsWithinTolerance ? "yes" : "no", notes6.Reference(r.Note));
            AnsiConsole.Write(t6);
            Line($"Tolerances: params ±{Number(PaperReport.Table6ParamsToleranceMillions)} M and MAdds ±{Number(PaperReport.MAddsToleranceMillions)} M " +
                 "(half the last printed digit of Table 6).");
            notes6.Write();
            return 0;
        });
        return command;
    }
}
