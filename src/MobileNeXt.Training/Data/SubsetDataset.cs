using SkiaSharp;

namespace MobileNeXt.Training.Data;

/// <summary>The samples of a dataset at the given indices, in that order (an evaluation budget, a search's two halves).</summary>
public sealed class SubsetDataset : IImageDataset
{
    private readonly IImageDataset _inner;
    private readonly int[] _indices;

    /// <summary>A view of <paramref name="inner"/>'s samples at <paramref name="indices"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside the dataset.</exception>
    public SubsetDataset(IImageDataset inner, IReadOnlyList<int> indices)
    {
        _inner = inner ?? throw new ArgumentNullException(nameof(inner));
        ArgumentNullException.ThrowIfNull(indices);
        _indices = [.. indices];
        foreach (int i in _indices)
            if (i < 0 || i >= inner.Count)
                throw new ArgumentOutOfRangeException(nameof(indices), i, $"Index {i} is outside the dataset's {inner.Count} samples.");
    }

    /// <inheritdoc />
    public int Count => _indices.Length;

    /// <inheritdoc />
    public IReadOnlyList<string> Classes => _inner.Classes;

    /// <inheritdoc />
    public int GetLabel(int index) => _inner.GetLabel(_indices[index]);

    /// <inheritdoc />
    public SKBitmap? LoadImage(int index) => _inner.LoadImage(_indices[index]);
}
