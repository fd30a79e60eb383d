using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using MobileNeXt.Models;
using static MobileNeXt.Cli.Format;

namespace MobileNeXt.Cli;

/// <summary><c>mobilenext models</c>: the registry with measured size and the paper's accuracy.</summary>
internal static class ModelsCommand
{
    public static Command Create()
    {
        var command = new Command("models", "List the registry: name, family, width, parameters and MACs at 224² (as built here), the paper's top-1 and the source.");
        command.SetAction(_ =>
        {
            TorchRuntime.EnsureAvailable();
            // Sources are long and shared by a whole family: cited as footnotes so the table keeps its shape.
            var sources = new Footnotes();
            var table = NewTable().Columns("model", "family", ">width", ">params (M)", ">MACs (M)", ">paper top-1 (%)", "source");
            foreach (var card in ModelRegistry.Models)
                table.Row(card.Name, card.Family, card.Width.ToString("0.00", CultureInfo.InvariantCulture), Millions(card.Params), Millions(card.Macs, "0.0"),
                    card.Paper is { } p ? p.Top1.ToString("0.0", CultureInfo.InvariantCulture) : None, sources.Reference(card.Source));
            AnsiConsole.Write(table);
            Line("Params and MACs as built here: 1000 classes, one 224² image, conv + linear multiply-accumulates (the paper's MAdds convention).");
            sources.Write();
            return 0;
        });
        return command;
    }
}
