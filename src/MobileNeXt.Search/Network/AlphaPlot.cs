using MobileNeXt.Interop;
using SkiaSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Search.Network;

/// <summary>
/// softmax(α) of a search network as a PNG: two heat maps side by side (normal and reduction cell), one row per edge
/// (labelled <c>node from input</c>, inputs k-2, k-1 or an earlier node), one column per operation, each cell shaded white (0) to dark blue (1) and printed with
/// its weight to two decimals; the operation a derived genotype keeps on an edge is its row's largest non-<c>none</c> cell.
/// </summary>
public static class AlphaPlot
{
    private const int CellWidth = 64, CellHeight = 22, RowLabelWidth = 84, HeaderHeight = 110, Gap = 40, Margin = 12;

    // room on the right for the last column's slanted operation name
    private const int SlantRoom = 60;

    /// <summary>The picture's size for a network with <paramref name="edges"/> edges per cell and <paramref name="operations"/> operations.</summary>
    public static (int Width, int Height) Size(int edges, int operations) =>
        (2 * (RowLabelWidth + operations * CellWidth) + Gap + 2 * Margin + SlantRoom, HeaderHeight + edges * CellHeight + 2 * Margin);

    /// <summary>Where the weight of (<paramref name="edge"/>, <paramref name="operation"/>) is drawn: panel 0 normal, 1 reduction.</summary>
    public static SKRect Cell(int panel, int edge, int operation, int operations)
    {
        float left = Margin + panel * (RowLabelWidth + operations * CellWidth + Gap) + RowLabelWidth + operation * CellWidth;
        float top = Margin + HeaderHeight + edge * CellHeight;
        return new SKRect(left, top, left + CellWidth, top + CellHeight);
    }

    /// <summary>Draws <paramref name="network"/>'s current softmax(α) to <paramref name="path"/> (written atomically).</summary>
    public static void Save(SearchNetwork network, string path)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var _ = no_grad();
        using var normal = nn.functional.softmax(network.AlphasNormal, -1).cpu().to(ScalarType.Float32);
        using var reduce = nn.functional.softmax(network.AlphasReduce, -1).cpu().to(ScalarType.Float32);
        Save(ToArray(normal), ToArray(reduce), network.Options.Space.Operations, network.Options.Steps, path);
    }

    /// <summary>Draws the weights <paramref name="normal"/> and <paramref name="reduce"/> (edges × operations) to <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentException">The arrays' shapes do not match each other, the operations or the steps.</exception>
    public static void Save(float[,] normal, float[,] reduce, IReadOnlyList<string> operations, int steps, string path)
    {
        ArgumentNullException.ThrowIfNull(normal);
        ArgumentNullException.ThrowIfNull(reduce);
        ArgumentNullException.ThrowIfNull(operations);
        int edges = steps * (steps + 3) / 2; // node i has 2 + i inputs
        foreach (var (w, name) in new[] { (normal, "normal"), (reduce, "reduce") })
            if (w.GetLength(0) != edges || w.GetLength(1) != operations.Count)
                throw new ArgumentException($"The {name} weights are {w.GetLength(0)}×{w.GetLength(1)}; {steps} steps and {operations.Count} operations need {edges}×{operations.Count}.");

        var (width, height) = Size(edges, operations.Count);
        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var fill = new SKPaint { Style = SKPaintStyle.Fill };
        using var border = new SKPaint { Style = SKPaintStyle.Stroke, Color = SKColors.LightGray, StrokeWidth = 1 };
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var light = new SKPaint { Color = SKColors.White, IsAntialias = true };
        using var font = new SKFont(SKTypeface.Default, 11);
        using var title = new SKFont(SKTypeface.Default, 14);

        var labels = new List<string>(edges);
        for (int node = 0; node < steps; node++)
            for (int input = 0; input < 2 + node; input++)
                labels.Add($"{node} from {(input switch { 0 => "k-2", 1 => "k-1", _ => (input - 2).ToString() })}");

        for (int panel = 0; panel < 2; panel++)
        {
            var weights = panel == 0 ? normal : reduce;
            float left = Margin + panel * (RowLabelWidth + operations.Count * CellWidth + Gap);
            float gridLeft = left + RowLabelWidth, top = Margin + HeaderHeight;
            canvas.DrawText(panel == 0 ? "normal cell" : "reduction cell", gridLeft, Margin + 14, SKTextAlign.Left, title, ink);
            for (int o = 0; o < operations.Count; o++)
            {
                // operation names written upwards above their column
                canvas.Save();
                canvas.Translate(gridLeft + o * CellWidth + CellWidth / 2f + 4, top - 6);
                canvas.RotateDegrees(-60);
                canvas.DrawText(operations[o], 0, 0, SKTextAlign.Left, font, ink);
                canvas.Restore();
            }
            for (int e = 0; e < edges; e++)
            {
                float y = top + e * CellHeight;
                canvas.DrawText(labels[e], left + RowLabelWidth - 6, y + CellHeight * 0.7f, SKTextAlign.Right, font, ink);
                for (int o = 0; o < operations.Count; o++)
                {
                    float v = Math.Clamp(weights[e, o], 0, 1);
                    fill.Color = Shade(v);
                    var cell = Cell(panel, e, o, operations.Count);
                    canvas.DrawRect(cell, fill);
                    canvas.DrawRect(cell, border);
                    canvas.DrawText(v.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture), cell.MidX, cell.Top + CellHeight * 0.7f,
                        SKTextAlign.Center, font, v > 0.5f ? light : ink);
                }
            }
        }

        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.Write(path, stream => png.SaveTo(stream));
    }

    /// <summary>White at 0 to dark blue (0, 0, 139) at 1, linearly per channel.</summary>
    public static SKColor Shade(float weight)
    {
        float v = Math.Clamp(weight, 0, 1);
        return new SKColor((byte)Math.Round(255 * (1 - v)), (byte)Math.Round(255 * (1 - v)), (byte)Math.Round(255 - 116 * v));
    }

    private static float[,] ToArray(Tensor t)
    {
        var flat = t.data<float>().ToArray();
        int rows = (int)t.shape[0], cols = (int)t.shape[1];
        var a = new float[rows, cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                a[r, c] = flat[r * cols + c];
        return a;
    }
}
