using MobileNeXt.Detection.Data;
using SkiaSharp;

namespace MobileNeXt.Detection.Tests.Data;

/// <summary>The built-in scenes: deterministic, and their boxes bound exactly what the garments draw.</summary>
public class FashionScenesTests
{
    private static readonly Lazy<FashionScenes> Scenes = new(() => new FashionScenes(new FashionScenesOptions { Count = 40, ImageSize = 160, Seed = 3 }));

    private static byte[] Bytes(SKBitmap bitmap)
    {
        using (bitmap) return bitmap.Bytes;
    }

    [Fact]
    public void Should_draw_the_same_scene_for_the_same_seed_and_another_for_another_seed()
    {
        var again = new FashionScenes(new FashionScenesOptions { Count = 40, ImageSize = 160, Seed = 3 });
        var other = new FashionScenes(new FashionScenesOptions { Count = 40, ImageSize = 160, Seed = 4 });
        for (int i = 0; i < 5; i++)
        {
            again.GetObjects(i).Should().Equal(Scenes.Value.GetObjects(i));
            Bytes(again.LoadImage(i)).Should().Equal(Bytes(Scenes.Value.LoadImage(i)));
        }
        Enumerable.Range(0, 5).Select(other.GetObjects).SelectMany(o => o).Should().NotEqual(Enumerable.Range(0, 5).Select(Scenes.Value.GetObjects).SelectMany(o => o));
    }

    [Fact]
    public void Should_place_one_to_four_separate_garments_inside_the_image()
    {
        var scenes = Scenes.Value;
        for (int i = 0; i < scenes.Count; i++)
        {
            var boxes = scenes.GetObjects(i);
            boxes.Count.Should().BeInRange(1, 4);
            foreach (var b in boxes)
            {
                b.Label.Should().BeInRange(0, 9);
                b.X1.Should().BeGreaterThanOrEqualTo(0);
                b.Y1.Should().BeGreaterThanOrEqualTo(0);
                b.X2.Should().BeLessThanOrEqualTo(160);
                b.Y2.Should().BeLessThanOrEqualTo(160);
                b.Width.Should().BeGreaterThan(0);
                foreach (var o in boxes.Where(o => o != b))
                    (Math.Min(b.X2, o.X2) > Math.Max(b.X1, o.X1) && Math.Min(b.Y2, o.Y2) > Math.Max(b.Y1, o.Y1)).Should().BeFalse("garments do not overlap");
            }
        }
    }

    [Fact]
    public void Should_change_no_pixel_outside_the_boxes_and_reach_every_side_of_each_box()
    {
        var scenes = Scenes.Value;
        int size = 160;
        for (int i = 0; i < 10; i++)
        {
            var with = Bytes(scenes.Draw(i, withGarments: true));
            var without = Bytes(scenes.Draw(i, withGarments: false));
            var boxes = scenes.GetObjects(i);
            var reach = boxes.Select(_ => new[] { float.MaxValue, float.MaxValue, float.MinValue, float.MinValue }).ToArray();
            for (int y = 0; y < size; y++)
                for (int x = 0; x < size; x++)
                {
                    int o = (y * size + x) * 4;
                    if (with[o] == without[o] && with[o + 1] == without[o + 1] && with[o + 2] == without[o + 2]) continue;
                    int k = boxes.ToList().FindIndex(b => x >= b.X1 && x < b.X2 && y >= b.Y1 && y < b.Y2);
                    k.Should().BeGreaterThanOrEqualTo(0, $"pixel ({x}, {y}) of scene {i} changed outside every box");
                    var r = reach[k];
                    r[0] = Math.Min(r[0], x); r[1] = Math.Min(r[1], y); r[2] = Math.Max(r[2], x + 1); r[3] = Math.Max(r[3], y + 1);
                }
            for (int k = 0; k < boxes.Count; k++)
            {
                // The faintest drawn pixels (opacity near 1/255) may round to the background's byte; the visible
                // garment still reaches within 2 pixels of each side.
                var (b, r) = (boxes[k], reach[k]);
                r[0].Should().BeLessThanOrEqualTo(b.X1 + 2); r[1].Should().BeLessThanOrEqualTo(b.Y1 + 2);
                r[2].Should().BeGreaterThanOrEqualTo(b.X2 - 2); r[3].Should().BeGreaterThanOrEqualTo(b.Y2 - 2);
            }
        }
    }
}
