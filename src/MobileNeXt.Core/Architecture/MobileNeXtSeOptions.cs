namespace MobileNeXt.Architecture;

/// <summary>
/// Options for MobileNeXt† (<c>MobileNeXtSeNet</c>). The defaults build the paper's 1.0† (the released <c>mnext-b0</c>);
/// depth 1.1 with pointwise groups 2 is 1.1† (<c>mnext-b1</c>, followon-models.md §A).
/// </summary>
public sealed record MobileNeXtSeOptions
{
    /// <summary>Depth multiplier on every stage's repeats, rounded up. Default 1.0; 1.1 for 1.1†.</summary>
    public double Depth { get; init; } = 1.0;

    /// <summary>Groups of the 1×1 convs in the t = 2 and residual blocks: 1 (default) or 2 (1.1†'s <c>mgroup=2</c>).</summary>
    public int PointwiseGroups { get; init; } = 1;

    /// <summary>Number of classes; 0 builds no classifier. Default 1000.</summary>
    public int NumClasses { get; init; } = 1000;

    /// <summary>Dropout before the classifier. Default 0.2 (the released code).</summary>
    public double DropRate { get; init; } = 0.2;

    /// <summary>Largest drop-connect rate (the last block's); block i of N uses rate · i / N. Default 0.2 (hard-wired in the released code).</summary>
    public double DropConnectRate { get; init; } = SeStageTables.DropConnectRate;

    /// <summary>Input channels. Default 3.</summary>
    public int InChannels { get; init; } = 3;

    /// <summary>Throws an <see cref="ArgumentOutOfRangeException"/> naming the first invalid value and what to pass.</summary>
    public void Validate()
    {
        if (!(Depth >= 0.5 && Depth <= 4.0))
            throw new ArgumentOutOfRangeException(nameof(Depth), Depth, "Depth must be between 0.5 and 4 (1.0 for 1.0†, 1.1 for 1.1†).");
        if (PointwiseGroups is not (1 or 2))
            throw new ArgumentOutOfRangeException(nameof(PointwiseGroups), PointwiseGroups, "PointwiseGroups must be 1 or 2 (2 for 1.1†).");
        if (NumClasses < 0)
            throw new ArgumentOutOfRangeException(nameof(NumClasses), NumClasses, "NumClasses must be 0 (no classifier) or positive.");
        if (!(DropRate >= 0 && DropRate < 1))
            throw new ArgumentOutOfRangeException(nameof(DropRate), DropRate, "DropRate must be in [0, 1).");
        if (!(DropConnectRate >= 0 && DropConnectRate < 1))
            throw new ArgumentOutOfRangeException(nameof(DropConnectRate), DropConnectRate, "DropConnectRate must be in [0, 1).");
        if (InChannels < 1)
            throw new ArgumentOutOfRangeException(nameof(InChannels), InChannels, "InChannels must be positive (3 for RGB).");
    }
}
