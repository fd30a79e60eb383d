using System.CommandLine;
using System.Globalization;
using MobileNeXt.Layers;
using MobileNeXt.Models;
using MobileNeXt.Profiling;
using Spectre.Console;
using TorchSharp;
using static MobileNeXt.Cli.Format;

namespace MobileNeXt.Cli;

/// <summary><c>mobilenext summary</c>: one row per block of <c>features</c>, plus stem and head, with the profiler's figures.</summary>
internal static class SummaryCommand
{
    public static Command Create()
    {
        var options = new ModelOptions();
        var command = new Command("summary", "Show a model block by block: channels, hidden width, stride, shortcut, output shape, parameters and MACs.");
        options.AddTo(command);
        command.SetAction(result =>
        {
            TorchRuntime.EnsureAvailable();
            using var model = options.Build(result);
            var report = ModelProfiler.Profile(model, result.GetValue(options.InputSize));
            var modules = model.named_modules().ToDictionary(m => m.name, m => m.module);

            var table = NewTable(options.Describe(result)).Columns(
                "module", "layer", ">in>out", ">hidden", ">stride", "shortcut", ">output", ">params", ">MACs (M)");
            // MobileNeXt† keeps the released flat names: stem _conv_stem, blocks _blocks.{i}, classifier _fc.
            bool flat = modules.ContainsKey("_blocks.0");
            var rows = flat
                ? Enumerable.Range(0, int.MaxValue).Select(i => $"_blocks.{i}").TakeWhile(modules.ContainsKey).Prepend("_conv_stem")
                : Enumerable.Range(0, int.MaxValue).Select(i => $"features.{i}").TakeWhile(modules.ContainsKey);
            foreach (var (name, i) in rows.Select((n, i) => (n, i)))
            {
                var p = report[name];
                string inOut = $"{p.InputShape[1]}>{p.OutputShape[1]}";
                string stride = Stride(p).ToString(CultureInfo.InvariantCulture);
                (string layer, string hidden, string shortcut) = modules[name] switch
                {
                    SandglassBlock b => (b.Spec.Layout.Name, Hidden(b.Spec.HiddenChannels), b.Spec.HasShortcut ? $"+id {b.ShortcutChannels}/{b.Spec.OutChannels}ch" : None),
                    SeSandglassBlock s => ("sandglass + SE", Hidden(s.Spec.HiddenChannels), s.Spec.HasResidual ? $"+id {s.Spec.OutChannels}/{s.Spec.OutChannels}ch" : None),
                    InvertedResidual r => ("inverted residual", Hidden(r.HiddenChannels), p.InputShape.SequenceEqual(p.OutputShape) ? $"+id {r.OutChannels}/{r.OutChannels}ch" : None),
                    _ when i == 0 => ("stem conv 3×3", None, None),
                    _ => ("conv 1×1", None, None),
                };
                if (modules[name] is SandglassBlock sb) stride = sb.Spec.Stride.ToString(CultureInfo.InvariantCulture);
                if (modules[name] is SeSandglassBlock se) stride = se.Spec.Stride.ToString(CultureInfo.InvariantCulture);
                table.Row(name, layer, inOut, hidden, stride, shortcut, Shape(p.OutputShape), Count(p.Params), Millions(p.Macs, "0.00"));
            }

            var head = report[flat ? "_fc" : "classifier"];
            table.Row("avgpool+classifier", model.NumClasses > 0 ? "pool, dropout, linear" : "pool (no classifier)",
                $"{model.NumFeatures}>{head.OutputShape[^1]}", None, None, None, Shape(head.OutputShape), Count(head.Params), Millions(head.Macs, "0.00"));
            table.ShowFooters = true;
            table.Columns[0].Footer(new Text("total"));
            table.Columns[7].Footer(new Text(Count(report.TotalParams)));
            table.Columns[8].Footer(new Text(Millions(report.TotalMacs, "0.00")));
            AnsiConsole.Write(table);
            Line($"Total: {Millions(report.TotalParams)} M params, {Millions(report.TotalMacs, "0.0")} M MACs, " +
                 $"{Millions(report.TotalElementwiseOps, "0.0")} M element-wise ops ({Millions(report.TotalOps, "0.0")} M ops in all).");
            return 0;
        });
        return command;
    }

    private static string Hidden(int channels) => channels.ToString(CultureInfo.InvariantCulture);

    private static int Stride(LayerProfile p) =>
        p.InputShape.Length == 4 && p.OutputShape.Length == 4 ? (int)Math.Round((double)p.InputShape[2] / p.OutputShape[2]) : 1;
}
