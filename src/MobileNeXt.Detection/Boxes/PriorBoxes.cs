using static TorchSharp.torch;

namespace MobileNeXt.Detection.Boxes;

/// <summary>SSD's priors (default boxes) for a detector's levels, in the order its heads' outputs are laid out.</summary>
public static class PriorBoxes
{
    /// <summary>
    /// The priors of <paramref name="options"/> as a float32 [P, 4] CPU tensor in centre-size form (cx, cy, w, h),
    /// relative to the image: levels in order; within a level, locations row by row; at each location the min square,
    /// the √(min·max) square, then for each aspect ratio r the pair (w√r, h/√r), (w/√r, h√r) of the min square. Centres
    /// are at (j + 0.5) · stride / size; every coordinate is clipped to [0, 1] when <see cref="SsdLiteOptions.ClipPriors"/>
    /// (the released <c>PriorBox</c>, ssd/modeling/anchors/prior_box.py; followon-models.md §B, "Priors").
    /// </summary>
    public static Tensor Create(SsdLiteOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        double size = options.ImageSize;
        var values = new List<float>(options.PriorCount * 4);
        foreach (var level in options.Priors)
        {
            double scale = size / level.Stride;
            double min = level.MinSize / size, max = Math.Sqrt((double)level.MinSize * level.MaxSize) / size;
            for (int i = 0; i < level.FeatureMap; i++)
            for (int j = 0; j < level.FeatureMap; j++)
            {
                double cx = (j + 0.5) / scale, cy = (i + 0.5) / scale;
                void Add(double w, double h)
                {
                    foreach (var v in new[] { cx, cy, w, h })
                        values.Add((float)(options.ClipPriors ? Math.Clamp(v, 0, 1) : v));
                }
                Add(min, min);
                Add(max, max);
                foreach (var ratio in level.AspectRatios)
                {
                    double r = Math.Sqrt(ratio);
                    Add(min * r, min / r);
                    Add(min / r, min * r);
                }
            }
        }
        return tensor(values.ToArray(), [values.Count / 4, 4]);
    }
}
