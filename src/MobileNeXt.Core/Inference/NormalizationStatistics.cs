namespace MobileNeXt.Inference;

/// <summary>Per-channel mean and standard deviation subtracted from and divided into [0, 1] RGB values.</summary>
/// <param name="Mean">R, G, B means.</param>
/// <param name="Std">R, G, B standard deviations (positive).</param>
public sealed record NormalizationStatistics(IReadOnlyList<float> Mean, IReadOnlyList<float> Std)
{
    /// <summary>The ImageNet statistics every torchvision classification model uses: mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225).</summary>
    public static NormalizationStatistics ImageNet { get; } = new([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    /// <summary>No normalisation: mean 0, std 1, so values stay in [0, 1].</summary>
    public static NormalizationStatistics Identity { get; } = new([0f, 0f, 0f], [1f, 1f, 1f]);

    /// <summary>Throws an <see cref="ArgumentException"/> unless there are three means and three positive standard deviations.</summary>
    public void Validate()
    {
        if (Mean is not { Count: 3 } || Std is not { Count: 3 })
            throw new ArgumentException("Normalization needs exactly three means and three standard deviations (R, G, B).");
        if (Std.Any(s => !(s > 0) || float.IsInfinity(s)))
            throw new ArgumentException($"Standard deviations must be positive and finite; got ({string.Join(", ", Std)}).");
    }
}
