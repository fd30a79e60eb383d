namespace MobileNeXt.Training.Recipes;

/// <summary>
/// The two ImageNet recipes as data. <c>paper</c> is what Sec. 4.1 of Zhou et al. (ECCV 2020) states; <c>released</c>
/// is what the authors' released code used for the 74.0x % checkpoints (docs/architecture.md, "The released training
/// recipe"). Each value names its source; values neither source gives are marked as our choice.
/// </summary>
public static class RecipePresets
{
    /// <summary>The preset names, for help texts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["paper", "released"];

    /// <summary>Sec. 4.1 of the paper.</summary>
    public static TrainingOptions Paper { get; } = new()
    {
        Preset = "paper",
        Momentum = 0.9,               // Sec. 4.1: "both decay and momentum of 0.9"
        Nesterov = false,             // Sec. 4.1: "the standard SGD optimizer"
        WeightDecay = 4e-5,           // Sec. 4.1: "the weight decay is 4×10^-5"
        DecayNormAndBias = true,      // Sec. 4.1 excludes nothing
        LearningRate = 0.05,          // Sec. 4.1: "initial learning rate of 0.05"
        ReferenceBatchSize = 256,     // Sec. 4.1: "The batch size is set to 256"
        BatchSize = 256,              // Sec. 4.1 (per process here; scale with --batch-size)
        Epochs = 200,                 // Sec. 4.1: "we train all the models for 200 epochs"
        WarmupEpochs = 3,             // Sec. 4.1: "three epochs of warmup"
        WarmupStartLearningRate = 0,  // our choice: Sec. 4.1 gives no start value; linear from 0
        MinLearningRate = 0,          // Sec. 4.1: "cosine learning schedule" (annealed to 0, as torch's CosineAnnealingLR)
        CooldownEpochs = 0,           // Sec. 4.1 mentions none
        LabelSmoothing = 0,           // Sec. 4.1 mentions none
        ColorJitter = 0,              // Sec. 4.1 names no colour augmentation
        DropRate = 0.2,               // architecture.md "Head": Dropout(0.2) is part of the network
        EmaDecay = null,              // Sec. 4.1 mentions none
    };

    /// <summary>The authors' released training settings (architecture.md, "The released training recipe").</summary>
    public static TrainingOptions Released { get; } = new()
    {
        Preset = "released",
        Momentum = 0.9,               // released code: SGD Nesterov momentum 0.9
        Nesterov = true,              // released code: Nesterov
        WeightDecay = 1e-4,           // released code: weight decay 1e-4 …
        DecayNormAndBias = false,     // … not applied to BN weights or biases
        LearningRate = 0.1,           // released code: lr 0.1 …
        ReferenceBatchSize = 512,     // … at global batch 512
        BatchSize = 512,              // released code: global batch 512 (per process here; scale with --batch-size)
        Epochs = 210,                 // released code: 200 epochs of cosine + 10 cool-down epochs
        WarmupEpochs = 3,             // released code: 3 linear warm-up epochs …
        WarmupStartLearningRate = 1e-4, // … from 1e-4
        MinLearningRate = 1e-5,       // released code: cosine to 1e-5
        CooldownEpochs = 10,          // released code: 10 cool-down epochs at 1e-5
        LabelSmoothing = 0.1,         // released code: label smoothing 0.1
        ColorJitter = 0.4,            // released code: ColorJitter 0.4
        DropRate = 0.2,               // released code: Dropout 0.2
        EmaDecay = null,              // released settings list no EMA; turn it on with EmaDecay (e.g. 0.9999)
    };

    /// <summary>The preset called <paramref name="name"/> (case-insensitive).</summary>
    /// <exception cref="KeyNotFoundException">No preset has that name; the message lists them.</exception>
    public static TrainingOptions Get(string name) => name?.Trim().ToLowerInvariant() switch
    {
        "paper" => Paper,
        "released" => Released,
        _ => throw new KeyNotFoundException($"Unknown preset '{name}'. Available: {string.Join(", ", Names)}."),
    };
}
