namespace MobileNeXt.Detection;

/// <summary>
/// What an SSDLite detector is besides its backbone: classes, input size, extras, priors and box coding. The defaults
/// are the released VOC detector's (configs/mobilenext_ssd320_voc0712.yaml on ssd/config/defaults.py of
/// houqb/ssdlite-pytorch-mobilenext; followon-models.md §B).
/// </summary>
public sealed record SsdLiteOptions
{
    /// <summary>Classes including the background class 0. Default 21 (PASCAL VOC's 20 and background).</summary>
    public int NumClasses { get; init; } = 21;

    /// <summary>Side of the square input in pixels. Default 320 (INPUT.IMAGE_SIZE).</summary>
    public int ImageSize { get; init; } = 320;

    /// <summary>The extra layers after the backbone. Default <see cref="ExtraLayerSpec.Released"/>.</summary>
    public IReadOnlyList<ExtraLayerSpec> Extras { get; init; } = ExtraLayerSpec.Released;

    /// <summary>
    /// The priors of the six levels (two backbone taps, then one per extra layer). Default the released config:
    /// maps 20, 10, 5, 3, 2, 1; strides 16, 32, 64, 120, 160, 320; min sizes 45 … 270; max sizes 120 … 320; aspect
    /// ratios {2, 3} everywhere (MODEL.PRIORS).
    /// </summary>
    public IReadOnlyList<PriorLevel> Priors { get; init; } =
    [
        new(20, 16, 45, 120, [2, 3]),
        new(10, 32, 90, 180, [2, 3]),
        new(5, 64, 135, 220, [2, 3]),
        new(3, 120, 180, 260, [2, 3]),
        new(2, 160, 225, 300, [2, 3]),
        new(1, 320, 270, 320, [2, 3]),
    ];

    /// <summary>Clip the priors to [0, 1] in centre-size form (MODEL.PRIORS.CLIP). Default true.</summary>
    public bool ClipPriors { get; init; } = true;

    /// <summary>Variance of the centre offsets in the box coding (MODEL.CENTER_VARIANCE). Default 0.1.</summary>
    public double CenterVariance { get; init; } = 0.1;

    /// <summary>Variance of the log size ratios in the box coding (MODEL.SIZE_VARIANCE). Default 0.2.</summary>
    public double SizeVariance { get; init; } = 0.2;

    /// <summary>Throws an <see cref="ArgumentOutOfRangeException"/> or <see cref="ArgumentException"/> naming the first invalid value.</summary>
    public void Validate()
    {
        if (NumClasses < 2)
            throw new ArgumentOutOfRangeException(nameof(NumClasses), NumClasses, "NumClasses counts the background class 0 too: use at least 2.");
        if (ImageSize < 32)
            throw new ArgumentOutOfRangeException(nameof(ImageSize), ImageSize, "ImageSize must be at least 32 (the backbone downsamples by 32).");
        if (Extras is null || Priors is null) throw new ArgumentException("Extras and Priors must not be null.");
        if (Priors.Count != Extras.Count + 2)
            throw new ArgumentException($"Priors lists {Priors.Count} levels, but the detector has {Extras.Count + 2} (two backbone taps and one per extra layer).", nameof(Priors));
        for (int i = 1; i < Extras.Count; i++)
            if (Extras[i].In != Extras[i - 1].Out)
                throw new ArgumentException($"Extra layer {i} reads {Extras[i].In} channels but layer {i - 1} writes {Extras[i - 1].Out}.", nameof(Extras));
        if (Extras.Any(e => e.In < 1 || e.Hidden < 1 || e.Out < 1))
            throw new ArgumentException("Every extra layer needs at least one channel in, hidden and out.", nameof(Extras));
        foreach (var level in Priors)
            if (level.FeatureMap < 1 || level.Stride < 1 || level.MinSize < 1 || level.MaxSize < level.MinSize || level.AspectRatios.Any(r => r < 1))
                throw new ArgumentException($"Prior level {level} is invalid: map, stride and sizes must be positive, MaxSize ≥ MinSize, aspect ratios ≥ 1.", nameof(Priors));
        if (CenterVariance <= 0 || SizeVariance <= 0)
            throw new ArgumentOutOfRangeException(nameof(CenterVariance), "CenterVariance and SizeVariance must be positive.");
    }

    /// <summary>
    /// The released detector's options for a <paramref name="imageSize"/>² input: at 320 exactly the defaults; otherwise
    /// the six levels take the map sizes the network produces (each stride-2 3×3 conv with padding 1 halves a side,
    /// rounding up: ⌈S/16⌉ and ⌈S/32⌉ at the taps, then four halvings by the extras), each level's stride is S / map
    /// (rounded), so the priors sit at the cells' centres, and the min and max sizes scale with S / 320. For smaller
    /// inputs, where a short sample run can afford more images (the built-in scenes at 160², the tests at 64²).
    /// </summary>
    public static SsdLiteOptions ForImageSize(int imageSize, int numClasses = 21)
    {
        var released = new SsdLiteOptions { NumClasses = numClasses };
        if (imageSize == released.ImageSize) return released;
        if (imageSize < 32) throw new ArgumentOutOfRangeException(nameof(imageSize), imageSize, "ImageSize must be at least 32 (the backbone downsamples by 32).");
        static int Half(int n) => (n + 1) / 2;
        var maps = new int[released.Priors.Count];
        int side = imageSize;
        for (int i = 0; i < 4; i++) side = Half(side); // stride 16
        maps[0] = side;
        for (int level = 1; level < maps.Length; level++) maps[level] = Half(maps[level - 1]);
        double scale = imageSize / (double)released.ImageSize;
        var levels = released.Priors.Select((p, i) => p with
        {
            FeatureMap = maps[i],
            Stride = (int)Math.Round(imageSize / (double)maps[i]),
            MinSize = Math.Max(1, (int)Math.Round(p.MinSize * scale)),
            MaxSize = Math.Max(1, (int)Math.Round(p.MaxSize * scale)),
        }).ToList();
        return released with { ImageSize = imageSize, Priors = levels };
    }

    /// <summary>Number of priors, and of rows of the heads' outputs: Σ map² · priors per location (3234 for the default).</summary>
    public int PriorCount => Priors.Sum(l => l.FeatureMap * l.FeatureMap * l.PriorsPerLocation);
}
