using MobileNeXt.Inference;

namespace MobileNeXt.Search.Data;

/// <summary>
/// DARTS's CIFAR-10 pipeline (quark0/darts <c>cnn/utils.py</c>, <c>_data_transforms_cifar10</c>): for training
/// <c>RandomCrop(32, padding=4)</c>, <c>RandomHorizontalFlip()</c>, <c>ToTensor()</c>, <c>Normalize(CIFAR_MEAN,
/// CIFAR_STD)</c> and, in evaluation training, <c>Cutout(16)</c>; for testing only the normalisation. Images smaller than
/// <see cref="Size"/> (Fashion-MNIST's 28²) are first centred on a zero canvas of that size.
/// </summary>
public sealed record DartsAugmentationOptions
{
    /// <summary>DARTS's CIFAR-10 statistics (<c>utils.py</c> <c>CIFAR_MEAN</c>, <c>CIFAR_STD</c>).</summary>
    public static NormalizationStatistics Cifar10Statistics { get; } =
        new([0.49139968f, 0.48215827f, 0.44653124f], [0.24703233f, 0.24348505f, 0.26158768f]);

    /// <summary>
    /// Fashion-MNIST's grey statistics on every channel: mean 0.2860, std 0.3530 over the 60,000 training images' 28²
    /// pixels (computed with numpy from the Debian package's <c>train-images-idx3-ubyte.gz</c>: 0.28604, 0.35302).
    /// </summary>
    public static NormalizationStatistics FashionMnistStatistics { get; } =
        new([0.2860f, 0.2860f, 0.2860f], [0.3530f, 0.3530f, 0.3530f]);

    /// <summary>Output side. Default 32 (CIFAR-10; the auxiliary head needs 32² inputs).</summary>
    public int Size { get; init; } = 32;

    /// <summary>Whether the random crop, flip and cutout apply (false: the test pipeline).</summary>
    public bool Train { get; init; } = true;

    /// <summary>Zero padding of the random crop. Default 4 (<c>RandomCrop(32, padding=4)</c>).</summary>
    public int Padding { get; init; } = 4;

    /// <summary>Probability of the horizontal flip. Default 0.5 (<c>RandomHorizontalFlip()</c>).</summary>
    public double FlipProbability { get; init; } = 0.5;

    /// <summary>Side of the cutout square, 0 for none. Default 0 (search); 16 in DARTS's evaluation (<c>train.py --cutout --cutout_length 16</c>).</summary>
    public int CutoutLength { get; init; }

    /// <summary>Channel statistics. Default <see cref="Cifar10Statistics"/>.</summary>
    public NormalizationStatistics Normalization { get; init; } = Cifar10Statistics;

    /// <summary>Checks every value; the message says what to change.</summary>
    public void Validate()
    {
        if (Size < 1) throw new ArgumentException($"Size must be positive (DARTS: 32); got {Size}.");
        if (Padding < 0) throw new ArgumentException($"Padding must not be negative (DARTS: 4); got {Padding}.");
        if (FlipProbability is < 0 or > 1) throw new ArgumentException($"FlipProbability must be in [0, 1] (DARTS: 0.5); got {FlipProbability}.");
        if (CutoutLength < 0) throw new ArgumentException($"CutoutLength must not be negative (DARTS: 16, or 0 for none); got {CutoutLength}.");
        ArgumentNullException.ThrowIfNull(Normalization, nameof(Normalization));
        Normalization.Validate();
    }
}
