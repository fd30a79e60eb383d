namespace MobileNeXt.Detection.Boxes;

/// <summary>Thresholds of <see cref="SsdPostProcessor"/>; the defaults are the released test config's (ssd/config/defaults.py, TEST.*).</summary>
public sealed record PostProcessingOptions
{
    /// <summary>Keep class scores strictly above this (TEST.CONFIDENCE_THRESHOLD). Default 0.01.</summary>
    public double ScoreThreshold { get; init; } = 0.01;

    /// <summary>Suppress a box whose IoU with a higher-scoring kept box of its class is above this (TEST.NMS_THRESHOLD). Default 0.45.</summary>
    public double NmsThreshold { get; init; } = 0.45;

    /// <summary>Detections kept per image, best first (TEST.MAX_PER_IMAGE). Default 100.</summary>
    public int MaxDetections { get; init; } = 100;

    /// <summary>Throws an <see cref="ArgumentOutOfRangeException"/> naming the first invalid value.</summary>
    public void Validate()
    {
        if (ScoreThreshold is < 0 or >= 1 || double.IsNaN(ScoreThreshold))
            throw new ArgumentOutOfRangeException(nameof(ScoreThreshold), ScoreThreshold, "ScoreThreshold must be in [0, 1).");
        if (NmsThreshold is <= 0 or > 1 || double.IsNaN(NmsThreshold))
            throw new ArgumentOutOfRangeException(nameof(NmsThreshold), NmsThreshold, "NmsThreshold must be in (0, 1].");
        if (MaxDetections < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxDetections), MaxDetections, "MaxDetections must be at least 1.");
    }
}
