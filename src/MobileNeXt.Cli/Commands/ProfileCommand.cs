using System.CommandLine;
using System.Text.Json;
using MobileNeXt.Models;
using MobileNeXt.Profiling;
using Spectre.Console;
using static MobileNeXt.Cli.Format;

namespace MobileNeXt.Cli;

/// <summary><c>mobilenext profile</c>: the profiler's totals, optionally every leaf layer, as tables or JSON.</summary>
internal static class ProfileCommand
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    public static Command Create()
    {
        var options = new ModelOptions();
        var json = new Option<bool>("--json") { Description = "Print machine-readable JSON instead of tables." };
        var layers = new Option<bool>("--layers") { Description = "List every leaf layer (conv, norm, activation, linear…)." };
        var command = new Command("profile", "Count parameters, MACs and element-wise operations for one image.");
        options.AddTo(command);
        command.Add(json);
        command.Add(layers);
        command.SetAction(result =>
        {
            TorchRuntime.EnsureAvailable();
            int inputSize = result.GetValue(options.InputSize);
            ProfileReport report;
            using (var model = options.Build(result))
                report = ModelProfiler.Profile(model, inputSize);
            bool withLayers = result.GetValue(layers);

            if (result.GetValue(json))
            {
                var document = new
                {
                    Model = result.GetValue(options.Model),
                    Width = result.GetValue(options.Width) ?? ModelRegistry.GetCard(result.GetValue(options.Model)!).Width,
                    IdentityMultiplier = result.GetValue(options.IdentityMultiplier),
                    NumClasses = result.GetValue(options.Classes),
                    report.InputSize,
                    Params = report.TotalParams,
                    Macs = report.TotalMacs,
                    ElementwiseOps = report.TotalElementwiseOps,
                    Ops = report.TotalOps,
                    Layers = withLayers
                        ? report.Layers.Select(l => new { l.Name, l.Kind, l.InputShape, l.OutputShape, l.Params, l.Macs, l.ElementwiseOps }).ToList()
                        : null,
                };
                Console.Out.WriteLine(JsonSerializer.Serialize(document, Json));
                return 0;
            }

            var totals = NewTable(options.Describe(result)).Columns("", ">count", ">millions");
            totals.Row("parameters", Count(report.TotalParams), Millions(report.TotalParams));
            totals.Row("MACs (conv + linear)", Count(report.TotalMacs), Millions(report.TotalMacs, "0.0"));
            totals.Row("element-wise ops", Count(report.TotalElementwiseOps), Millions(report.TotalElementwiseOps, "0.0"));
            totals.Row("ops in all", Count(report.TotalOps), Millions(report.TotalOps, "0.0"));
            AnsiConsole.Write(totals);
            Line("Element-wise: one op per output element of each BatchNorm and activation, per shortcut-added channel·pixel (⌊αC⌋·H·W), per pooled input element.");

            if (withLayers)
            {
                var table = NewTable("Leaf layers").Columns("layer", "kind", ">input", ">output", ">params", ">MACs", ">element-wise");
                foreach (var l in report.Layers)
                    table.Row(l.Name, l.Kind, Shape(l.InputShape), Shape(l.OutputShape), Count(l.Params), Count(l.Macs), Count(l.ElementwiseOps));
                AnsiConsole.Write(table);
                Line("Shortcut additions belong to their block, not to a leaf layer, so the element-wise column sums to less than the total.");
            }
            return 0;
        });
        return command;
    }
}
