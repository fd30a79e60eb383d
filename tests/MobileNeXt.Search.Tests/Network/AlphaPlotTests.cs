using MobileNeXt.Search.Network;
using MobileNeXt.Search.Operations;
using SkiaSharp;

namespace MobileNeXt.Search.Tests.Network;

public sealed class AlphaPlotTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"alphas-{Guid.NewGuid():N}.png");

    public void Dispose() => File.Delete(_path);

    [Fact]
    public void Should_shade_each_weight_from_white_to_dark_blue_in_both_cells()
    {
        // 4 steps: 2 + 3 + 4 + 5 = 14 edges; DARTS's 8 operations
        var ops = SearchSpace.Darts.Operations;
        var normal = new float[14, ops.Count];
        var reduce = new float[14, ops.Count];
        normal[0, 3] = 1f;   // dark blue, CSS darkblue #00008B
        reduce[13, 7] = 0.5f; // halfway: 255 − 127.5 → 128 on red and green, 255 − 58 = 197 on blue
        AlphaPlot.Save(normal, reduce, ops, steps: 4, _path);

        using var png = SKBitmap.Decode(_path);
        png.Should().NotBeNull("the file is a PNG");
        (png.Width, png.Height).Should().Be(AlphaPlot.Size(14, ops.Count));
        SKColor Corner(int panel, int edge, int op) { var r = AlphaPlot.Cell(panel, edge, op, ops.Count); return png.GetPixel((int)r.Left + 3, (int)r.Top + 3); }
        Corner(0, 0, 3).Should().Be(new SKColor(0, 0, 0x8B));
        Corner(0, 0, 2).Should().Be(SKColors.White);
        Corner(1, 13, 7).Should().Be(new SKColor(128, 128, 197));
        Corner(1, 0, 3).Should().Be(SKColors.White, "the reduction cell's own weights, not the normal cell's");
    }

    [Fact]
    public void Should_refuse_weights_that_do_not_fit_the_steps()
    {
        var ops = SearchSpace.Darts.Operations;
        var act = () => AlphaPlot.Save(new float[13, ops.Count], new float[14, ops.Count], ops, steps: 4, _path);
        act.Should().Throw<ArgumentException>().WithMessage("*normal weights are 13×8; 4 steps and 8 operations need 14×8*");
        File.Exists(_path).Should().BeFalse();
    }
}
