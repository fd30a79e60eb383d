namespace MobileNeXt.Inference;

/// <summary>A pixel rectangle of an image, in torchvision's (i, j, h, w) order: top row, left column, height, width.</summary>
/// <param name="Top">First row (torchvision's <c>i</c>).</param>
/// <param name="Left">First column (torchvision's <c>j</c>).</param>
/// <param name="Height">Rows (torchvision's <c>h</c>).</param>
/// <param name="Width">Columns (torchvision's <c>w</c>).</param>
public readonly record struct CropBox(int Top, int Left, int Height, int Width)
{
    /// <summary>Fraction of a <paramref name="imageWidth"/>×<paramref name="imageHeight"/> image this box covers.</summary>
    public double AreaFraction(int imageWidth, int imageHeight) => (double)Width * Height / ((double)imageWidth * imageHeight);

    /// <summary>Width over height.</summary>
    public double AspectRatio => (double)Width / Height;
}
