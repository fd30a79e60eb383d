using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace MobileNeXt.Cli;

/// <summary>Number formatting (invariant culture) and table helpers that never interpret text as markup.</summary>
internal static class Format
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public const string None = "–";

    public static string Number(double value) => value.ToString("0.####", Inv);

    public static string Count(long value) => value.ToString("N0", Inv);

    public static string Millions(long value, string format = "0.000") => (value / 1e6).ToString(format, Inv);

    public static string Millions(double millions, string format) => millions.ToString(format, Inv);

    public static string Signed(double value, string format) => (value > 0 ? "+" : "") + value.ToString(format, Inv);

    /// <summary><c>56²×96</c> for a square N×C×H×W map, <c>40×56×96</c> otherwise, <c>1000</c> for N×C.</summary>
    public static string Shape(long[] shape) => shape.Length switch
    {
        4 when shape[2] == shape[3] => $"{shape[2]}²×{shape[1]}",
        4 => $"{shape[2]}×{shape[3]}×{shape[1]}",
        _ => string.Join("×", shape.Skip(1)),
    };

    public static Table NewTable(string? title = null)
    {
        var table = new Table().Border(TableBorder.Rounded);
        if (title is not null) table.Title(Markup.Escape(title));
        return table;
    }

    public static Table Columns(this Table table, params string[] headers)
    {
        foreach (var h in headers)
        {
            bool right = h.StartsWith('>');
            var column = new TableColumn(Markup.Escape(right ? h[1..] : h)) { NoWrap = true };
            table.AddColumn(right ? column.RightAligned() : column);
        }
        return table;
    }

    public static Table Row(this Table table, params string[] cells) =>
        table.AddRow(cells.Select(c => (IRenderable)new Text(c)).ToArray());

    public static void Line(string text = "") => AnsiConsole.Write(new Text(text + Environment.NewLine));

    /// <summary>Long notes as a numbered list under a table; identical notes share a number.</summary>
    public sealed class Footnotes
    {
        private readonly List<string> notes = [];

        public string Reference(string? note)
        {
            if (string.IsNullOrWhiteSpace(note)) return "";
            int i = notes.IndexOf(note);
            if (i < 0) { notes.Add(note); i = notes.Count - 1; }
            return $"[{i + 1}]";
        }

        /// <summary>Writes <c>[n] note</c> lines, word-wrapped to the console width with a hanging indent.</summary>
        public void Write()
        {
            int width = Math.Max(40, AnsiConsole.Profile.Width);
            for (int i = 0; i < notes.Count; i++)
            {
                string label = $"[{i + 1}] ";
                var line = new System.Text.StringBuilder(label);
                foreach (var word in notes[i].Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    bool fresh = line.Length == label.Length;
                    if (!fresh && line.Length + 1 + word.Length > width)
                    {
                        Console.Out.WriteLine(line.ToString());
                        line.Clear().Append(' ', label.Length);
                        fresh = true;
                    }
                    if (!fresh) line.Append(' ');
                    line.Append(word);
                }
                Console.Out.WriteLine(line.ToString());
            }
        }
    }
}
