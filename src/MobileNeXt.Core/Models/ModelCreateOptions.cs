namespace MobileNeXt.Models;

/// <summary>What may change when creating a registry model; everything else is fixed by its name.</summary>
public sealed record ModelCreateOptions
{
    /// <summary>
    /// Width multiplier overriding the one the name carries (any positive value); null keeps the name's. MobileNeXt†
    /// is defined at 1.0 only.
    /// </summary>
    public double? Width { get; init; }

    /// <summary>Number of classes. Default 1000; 0 builds no classifier.</summary>
    public int NumClasses { get; init; } = 1000;

    /// <summary>Identity tensor multiplier α for MobileNeXt models (Sec. 3.3). Default 1. MobileNetV2 accepts only 1.</summary>
    public double IdentityMultiplier { get; init; } = 1.0;

    /// <summary>Dropout before the classifier. Default 0.2.</summary>
    public double DropRate { get; init; } = 0.2;

    /// <summary>
    /// MobileNeXt†'s largest drop-connect rate (block i of N drops its residual branch with rate · i / N in training);
    /// null keeps the released 0.2. The other networks have no drop-connect and accept only null or 0.
    /// </summary>
    public double? DropConnectRate { get; init; }

    /// <summary>Input channels. Default 3.</summary>
    public int InChannels { get; init; } = 3;
}
