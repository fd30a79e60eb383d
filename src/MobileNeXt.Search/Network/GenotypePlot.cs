using SkiaSharp;

namespace MobileNeXt.Search.Network;

/// <summary>
/// Draws a derived cell as a graph, as DARTS's Fig. 4–5 and MobileNeXt's Fig. S2 show them: the two inputs
/// c_{k-2}, c_{k-1} on the left, the intermediate nodes 0 … n−1, the output c_{k} on the right, every kept edge labelled
/// with its operation, and the concatenated nodes joined to the output. The colours are those of DARTS's
/// <c>visualize.py</c> (inputs darkseagreen, nodes lightblue, output palegoldenrod).
/// </summary>
public static class GenotypePlot
{
    /// <summary>Input nodes' fill (darkseagreen).</summary>
    public static readonly SKColor InputColour = new(143, 188, 143);

    /// <summary>Intermediate nodes' fill (lightblue).</summary>
    public static readonly SKColor NodeColour = new(173, 216, 230);

    /// <summary>The output node's fill (palegoldenrod).</summary>
    public static readonly SKColor OutputColour = new(238, 232, 170);

    private const int NodeWidth = 84, NodeHeight = 40;

    /// <summary>Image size for a cell of <paramref name="steps"/> nodes.</summary>
    public static (int Width, int Height) Size(int steps) => (360 + 170 * steps, 160 + 90 * steps);

    /// <summary>
    /// Centre of state <paramref name="state"/> (0, 1: inputs; 2 + i: node i; 2 + steps: the output) in the image.
    /// </summary>
    public static SKPoint Centre(int state, int steps)
    {
        var (w, h) = Size(steps);
        if (state < 2) return new SKPoint(70, h * (state + 1) / 3f);
        if (state == 2 + steps) return new SKPoint(w - 70, h / 2f);
        int i = state - 2;
        // nodes alternate high and low, so an edge skipping a node never runs through it
        return new SKPoint(250 + 170 * i, i % 2 == 0 ? h * 0.2f : h * 0.8f);
    }

    /// <summary>Draws one cell of <paramref name="genotype"/> to a PNG file.</summary>
    /// <param name="genotype">The derived architecture.</param>
    /// <param name="reduction">The reduction cell (otherwise the normal one).</param>
    /// <param name="path">Where to write the PNG (atomically).</param>
    /// <exception cref="ArgumentException">The cell does not have two edges per node, or an edge reads a later state.</exception>
    public static void Save(Genotype genotype, bool reduction, string path)
    {
        ArgumentNullException.ThrowIfNull(genotype);
        var edges = reduction ? genotype.Reduce : genotype.Normal;
        var concat = reduction ? genotype.ReduceConcat : genotype.NormalConcat;
        if (edges.Count == 0 || edges.Count % 2 != 0) throw new ArgumentException($"A cell needs two edges per node; got {edges.Count} edges.", nameof(genotype));
        int steps = edges.Count / 2;
        for (int k = 0; k < edges.Count; k++)
            if (edges[k].Input < 0 || edges[k].Input >= 2 + k / 2)
                throw new ArgumentException($"Edge {k} of node {k / 2} reads state {edges[k].Input}; a node can read only the inputs and earlier nodes.", nameof(genotype));

        var (w, h) = Size(steps);
        using var surface = SKSurface.Create(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var line = new SKPaint { Color = SKColors.DimGray, StrokeWidth = 2, IsAntialias = true, Style = SKPaintStyle.Stroke };
        using var concatLine = new SKPaint { Color = SKColors.Silver, StrokeWidth = 2, IsAntialias = true, Style = SKPaintStyle.Stroke };
        using var fill = new SKPaint { Style = SKPaintStyle.Fill };
        using var text = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var font = new SKFont(SKTypeface.Default, 13);

        for (int k = 0; k < edges.Count; k++)
        {
            var from = Centre(edges[k].Input, steps);
            var to = Centre(2 + k / 2, steps);
            canvas.DrawLine(from, to, line);
            var mid = new SKPoint((from.X + to.X) / 2, (from.Y + to.Y) / 2 - 4);
            canvas.DrawText(edges[k].Operation, mid.X, mid.Y, SKTextAlign.Center, font, text);
        }
        foreach (int state in concat)
            canvas.DrawLine(Centre(state, steps), Centre(2 + steps, steps), concatLine);

        string Label(int s) => s switch { 0 => "c_{k-2}", 1 => "c_{k-1}", _ when s == 2 + steps => "c_{k}", _ => (s - 2).ToString() };
        for (int s = 0; s <= 2 + steps; s++)
        {
            var c = Centre(s, steps);
            fill.Color = s < 2 ? InputColour : s == 2 + steps ? OutputColour : NodeColour;
            var box = new SKRect(c.X - NodeWidth / 2f, c.Y - NodeHeight / 2f, c.X + NodeWidth / 2f, c.Y + NodeHeight / 2f);
            canvas.DrawRoundRect(box, 8, 8, fill);
            canvas.DrawText(Label(s), c.X, box.Top - 4, SKTextAlign.Center, font, text); // above the box, so its centre keeps the fill colour
        }

        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        MobileNeXt.Interop.AtomicFile.Write(path, stream => png.SaveTo(stream));
    }
}
