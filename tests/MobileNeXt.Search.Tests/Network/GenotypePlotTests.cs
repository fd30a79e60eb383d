using MobileNeXt.Search.Network;
using SkiaSharp;

namespace MobileNeXt.Search.Tests.Network;

public sealed class GenotypePlotTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"cell-{Guid.NewGuid():N}.png");

    public void Dispose() => File.Delete(_path);

    private static readonly Genotype Cell = new(
        [new("sep_conv_3x3", 0), new("skip_connect", 1), new("max_pool_3x3", 2), new("dil_conv_3x3", 1),
         new("dil_conv_5x5", 2), new("avg_pool_3x3", 0), new("sep_conv_5x5", 4), new("skip_connect", 2)],
        [2, 3, 4, 5],
        [new("max_pool_3x3", 0), new("max_pool_3x3", 1), new("skip_connect", 2), new("max_pool_3x3", 1),
         new("sandglass_3x3", 0), new("skip_connect", 2), new("skip_connect", 2), new("max_pool_3x3", 1)],
        [2, 3, 4, 5]);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Should_draw_inputs_nodes_and_output_in_DARTS_colours(bool reduction)
    {
        GenotypePlot.Save(Cell, reduction, _path);
        using var png = SKBitmap.Decode(_path);
        png.Should().NotBeNull("the file is a PNG");
        (png.Width, png.Height).Should().Be(GenotypePlot.Size(4));
        SKColor At(int state) { var c = GenotypePlot.Centre(state, 4); return png.GetPixel((int)c.X, (int)c.Y); }
        // colours of DARTS's visualize.py: darkseagreen #8FBC8F, lightblue #ADD8E6, palegoldenrod #EEE8AA
        At(0).Should().Be(new SKColor(0x8F, 0xBC, 0x8F));
        At(1).Should().Be(new SKColor(0x8F, 0xBC, 0x8F));
        for (int s = 2; s < 6; s++) At(s).Should().Be(new SKColor(0xAD, 0xD8, 0xE6));
        At(6).Should().Be(new SKColor(0xEE, 0xE8, 0xAA));
    }

    [Fact]
    public void Should_refuse_an_edge_from_a_later_node()
    {
        var bad = Cell with { Normal = [new("skip_connect", 0), new("skip_connect", 2)] };
        var act = () => GenotypePlot.Save(bad, reduction: false, _path);
        act.Should().Throw<ArgumentException>().WithMessage("*node 0 reads state 2*");
    }
}
