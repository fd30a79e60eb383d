using static TorchSharp.torch;

namespace MobileNeXt.Detection.Boxes;

/// <summary>
/// SSD's box coding (Liu et al., ECCV 2016, Eq. 2, with the variances of the released code's
/// ssd/utils/box_utils.py): a box (cx, cy, w, h) relative to a prior (pcx, pcy, pw, ph) is
/// ((cx − pcx) / pw / v_c, (cy − pcy) / ph / v_c, log(w / pw) / v_s, log(h / ph) / v_s). Boxes are [..., 4] tensors;
/// the priors broadcast against them.
/// </summary>
public static class BoxCoder
{
    /// <summary>Regressions (dx, dy, dw, dh) to boxes in centre-size form (the released <c>convert_locations_to_boxes</c>).</summary>
    public static Tensor Decode(Tensor locations, Tensor priors, double centerVariance, double sizeVariance)
    {
        using var scope = NewDisposeScope();
        var (pc, ps) = Split(priors);
        var (lc, ls) = Split(locations);
        var centres = lc * centerVariance * ps + pc;
        var sizes = (ls * sizeVariance).exp() * ps;
        return cat([centres, sizes], -1).MoveToOuterDisposeScope();
    }

    /// <summary>Boxes in centre-size form to regressions (the released <c>convert_boxes_to_locations</c>); the inverse of <see cref="Decode"/>.</summary>
    public static Tensor Encode(Tensor boxes, Tensor priors, double centerVariance, double sizeVariance)
    {
        using var scope = NewDisposeScope();
        var (pc, ps) = Split(priors);
        var (bc, bs) = Split(boxes);
        var centres = (bc - pc) / ps / centerVariance;
        var sizes = (bs / ps).log() / sizeVariance;
        return cat([centres, sizes], -1).MoveToOuterDisposeScope();
    }

    /// <summary>(cx, cy, w, h) to (x1, y1, x2, y2).</summary>
    public static Tensor ToCorners(Tensor centreSize)
    {
        using var scope = NewDisposeScope();
        var (c, s) = Split(centreSize);
        return cat([c - s / 2, c + s / 2], -1).MoveToOuterDisposeScope();
    }

    /// <summary>(x1, y1, x2, y2) to (cx, cy, w, h).</summary>
    public static Tensor ToCentreSize(Tensor corners)
    {
        using var scope = NewDisposeScope();
        var (a, b) = Split(corners);
        return cat([(a + b) / 2, b - a], -1).MoveToOuterDisposeScope();
    }

    private static (Tensor First, Tensor Second) Split(Tensor boxes)
    {
        ArgumentNullException.ThrowIfNull(boxes);
        if (boxes.Dimensions == 0 || boxes.shape[^1] != 4)
            throw new ArgumentException($"Boxes must have 4 values in the last dimension, got shape [{string.Join(", ", boxes.shape)}].", nameof(boxes));
        return (boxes[TensorIndex.Ellipsis, TensorIndex.Slice(0, 2)], boxes[TensorIndex.Ellipsis, TensorIndex.Slice(2, 4)]);
    }
}
