namespace MobileNeXt.Training.Recipes;

/// <summary>
/// The ImageNet recipes as data. <c>paper</c> is what Sec. 4.1 of Zhou et al. (ECCV 2020) states; <c>released</c>
/// is what the authors' released code used for the 74.0x % checkpoints (docs/architecture.md, "The released training
/// recipe"); <c>efficient</c> is the run behind the released MobileNeXt† (1.0†) checkpoint, its <c>args.yaml</c>
/// (followon-models.md §A, "Recipe as actually run"); <c>finetune</c> adapts pretrained weights
/// (<see cref="TrainingOptions.InitialWeights"/>) to a new, smaller dataset after BiT's fine-tuning rule. Each value names
/// its source; values no source gives are marked as our choice.
/// </summary>
public static class RecipePresets
{
    /// <summary>The preset names, for help texts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["paper", "released", "efficient", "finetune", "fashion-mnist", "detection", "detection-scenes"];

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

    /// <summary>
    /// The MobileNeXt† b0 (1.0†) run as recorded in its <c>args.yaml</c> (followon-models.md §A, "Recipe as actually
    /// run"; "args.yaml" below). The EMA weights are what that run evaluated (best EMA top-1 76.056 at epoch 497).
    /// </summary>
    public static TrainingOptions Efficient { get; } = new()
    {
        Preset = "efficient",
        Model = "mobilenext_se_100",  // followon-models.md §A: mnext_s = mnext-b0 = the paper's 1.0†, the args.yaml run
        Optimizer = OptimizerNames.RmsPropTf, // args.yaml: RMSpropTF …
        RmsPropAlpha = 0.9,           // … alpha 0.9 …
        Momentum = 0.9,               // … momentum 0.9 …
        RmsPropEpsilon = 1e-3,        // … eps 1e-3
        Nesterov = false,             // not an RMSpropTF option
        WeightDecay = 1e-5,           // args.yaml: weight decay 1e-5 …
        DecayNormAndBias = false,     // … BN weights and biases excluded
        LearningRate = 0.12,          // args.yaml: lr 0.12 …
        ReferenceBatchSize = 128,     // … at 128 per process, the only batch §A states for b0 (its process count is not
                                      // recorded, and timm's train.py then used --lr as given, unscaled); our choice: a
                                      // single process at 128 runs exactly 0.12, N processes get 0.12·N by linear scaling
        BatchSize = 128,              // args.yaml: 128 per process for b0
        Epochs = 500,                 // args.yaml: 500 epochs
        Schedule = ScheduleNames.Step, // args.yaml: step schedule …
        DecayRate = 0.97,             // … ×0.97 …
        DecayEpochs = 2.4,            // … every 2.4 epochs
        WarmupEpochs = 3,             // args.yaml: 3-epoch warm-up …
        WarmupStartLearningRate = 1e-6, // … from 1e-6
        MinLearningRate = 0,          // unused by the step schedule
        CooldownEpochs = 0,           // the step schedule has none
        LabelSmoothing = 0.1,         // args.yaml: label smoothing 0.1
        ColorJitter = 0.4,            // args.yaml: ColorJitter 0.4
        DropRate = 0.2,               // followon-models.md §A "Head": Dropout(0.2), hard-wired in the model
        EmaDecay = 0.9999,            // args.yaml: EMA 0.9999; the trainer evaluates the EMA weights too
    };

    /// <summary>
    /// The paper's recipe shrunk to Fashion-MNIST's 28×28 images and 10 epochs on a 2-core CPU — the settings of
    /// samples/FashionMnist (MobileNeXt-0.35: 90.29 % test top-1 in 13 min) and of the comparisons run on it.
    /// </summary>
    public static TrainingOptions FashionMnist { get; } = Paper with
    {
        Preset = "fashion-mnist",
        Model = "mobilenext_035",
        InputSize = 32,            // 28×28 upscaled to 32×32, the smallest input five stride-2 stages accept
        EvalResizeSize = 32,       // evaluate on the whole image, resized to 32
        MinCropScale = 1.0,        // no crops, flips only: a 28-pixel garment has nothing to spare (with crops of 0.6–1 the
                                   // 10-epoch run ended at 89.1 %: the network underfit, training loss 0.33)
        Epochs = 10,
        WarmupEpochs = 1,
        BatchSize = 128,
        LearningRate = 0.05,       // at ReferenceBatchSize 128; 0.1 diverged late in warm-up (loss 13 at step 400) at this resolution
        ReferenceBatchSize = 128,
        ClipGradNorm = 5,          // at 32×32 the last stages run at 1×1, where BatchNorm's small variances amplify gradients
        WeightDecay = 5e-5,
        Workers = 1,               // decoding 28×28 images is cheap; the trainer gives libtorch the other core
        LogEverySteps = 100,
    };

    /// <summary>
    /// Fine-tuning pretrained weights on a new dataset: a lower learning rate, a short warm-up and few epochs. The values
    /// follow the BiT-HyperRule (Kolesnikov et al., "Big Transfer", ECCV 2020; google-research/big_transfer,
    /// <c>bit_pytorch/train.py</c> and <c>bit_hyperrule.py</c>: "BiT" below), the fine-tuning recipe published with
    /// its code. Give the weights with <c>--init</c> / <see cref="TrainingOptions.InitialWeights"/>.
    /// </summary>
    public static TrainingOptions FineTune { get; } = new()
    {
        Preset = "finetune",
        Momentum = 0.9,               // BiT train.py: SGD(lr=0.003, momentum=0.9)
        Nesterov = false,             // BiT train.py: plain momentum
        WeightDecay = 0,              // BiT train.py: "Note: no weight-decay!"
        DecayNormAndBias = true,      // irrelevant without weight decay
        LearningRate = 0.003,         // BiT train.py: lr 0.003 …
        ReferenceBatchSize = 512,     // … at BiT's batch of 512 (bit_common.py --batch 512), scaled linearly here
        BatchSize = 128,              // our choice: a smaller batch for a small dataset on one machine (lr 0.00075)
        Epochs = 10,                  // our choice, "fewer epochs": BiT runs 500 steps of 512 on < 20k images (~13 epochs of
                                      // 20k), the PyTorch transfer-learning tutorial 25 epochs of 244 images
        WarmupEpochs = 1,             // BiT: linear warm-up over the first 100 of 500 steps on < 20k images, 500 of
                                      // 10,000 above; one epoch of ten lies between
        WarmupStartLearningRate = 0,  // BiT bit_hyperrule.get_lr: base_lr · step / warm-up steps, from 0
        Schedule = ScheduleNames.Cosine, // our choice: BiT divides by 10 at 2/5, 3/5 and 4/5 of the run; the cosine of
        MinLearningRate = 0,          //   the other presets decays the same range smoothly, to 0
        CooldownEpochs = 0,           // BiT has none
        LabelSmoothing = 0,           // BiT: plain cross-entropy
        ColorJitter = 0,              // BiT: crops and flips only
        MinCropScale = 0.64,          // BiT get_resolution: random 128² crops of 160² images (480 of 512), 0.64 of the area
        DropRate = 0.2,               // architecture.md "Head": Dropout(0.2) is part of the network
        EmaDecay = null,              // BiT keeps none
        FreezeFeatures = false,       // PyTorch transfer-learning tutorial: fine-tuning the whole network (86.4 %) beat the
                                      // frozen feature extractor (83.5 %); --freeze-features asks for a linear probe
    };

    /// <summary>
    /// The released SSDLite320-MobileNeXt recipe (Table 8; followon-models.md §B, "Training": the VOC config and
    /// <c>run.sh</c> of the authors' SSDLite code, 4 GPUs) for <c>train --task detection</c>. Counted in iterations, as
    /// the recipe is. The learning rate is 1e-3 per 24 images and scales linearly with the global batch
    /// (<see cref="TrainingOptions.ReferenceBatchSize"/> 24: 4 GPUs × 24 = 96 give the recipe's 4e-3; one process at 24
    /// gives 1e-3). The iteration counts do not scale: 60,000 steps of 96 images are 4 × 60,000 steps of 24, so a single
    /// process at batch 24 that should see the recipe's images needs <c>--iterations 240000</c> and milestones ×4.
    /// </summary>
    public static TrainingOptions Detection { get; } = new()
    {
        Preset = "detection",
        Model = "mobilenext_100",     // Table 8: SSDLite320 on MobileNeXt-1.0
        InputSize = 320,              // §B "Input": plain resize to 320²
        Optimizer = OptimizerNames.Sgd, // §B: SGD …
        Momentum = 0.9,               // … momentum 0.9 …
        Nesterov = false,             // … plain momentum (SOLVER has no Nesterov flag)
        WeightDecay = 5e-4,           // … weight decay 5e-4
        DecayNormAndBias = true,      // §B names no exclusion: every parameter is decayed
        LearningRate = 1e-3,          // §B: 1e-3 × number of GPUs …
        ReferenceBatchSize = 24,      // … of 24 images each
        BatchSize = 24,               // §B: 24 per GPU (per process here)
        Schedule = ScheduleNames.MultiStep,
        Iterations = 60_000,          // §B: 60k iterations …
        Milestones = [40_000, 50_000], // … with drops at 40k and 50k …
        DecayRate = 0.1,              // … of γ 0.1 …
        WarmupIterations = 1000,      // … after 1000 warm-up iterations …
        WarmupStartFactor = 0.1333,   // … from a factor of 0.1333 (linear, WarmupMultiStepLR)
        WarmupEpochs = 0,             // the warm-up is counted in iterations
        Epochs = 1,                   // unused while Iterations is set (--epochs clears Iterations)
        CooldownEpochs = 0,
        LabelSmoothing = 0,           // MultiBoxLoss: plain cross-entropy
        ColorJitter = 0,              // SSD's own photometric distortion is part of the detection augmentation
        DropRate = 0,                 // the backbone's classifier (and its dropout) is not part of the detector
        EmaDecay = null,              // §B keeps none
        ChannelsLast = false,         // the detection loss hands the detector plain NCHW batches
        Workers = 2,
        LogEverySteps = 20,
    };

    /// <summary>
    /// The detection recipe shrunk to the built-in Fashion-MNIST scenes on a 2-core CPU (samples/DetectScenes and
    /// bench/table8-scenes.sh): SSDLite on MobileNeXt-0.5 at 160², from scratch, a few epochs. The recipe's optimizer,
    /// weight decay, warm-up shape and ×0.1 drops are kept; the lengths are shrunk and the rate raised (our choices, below).
    /// </summary>
    public static TrainingOptions DetectionScenes { get; } = Detection with
    {
        Preset = "detection-scenes",
        Model = "mobilenext_050",     // our choice: the issue's MobileNeXt-0.5, the narrowest width Table 8's comparison allows at 2 cores
        InputSize = 160,              // our choice: a quarter of 320²'s pixels, so an epoch of 1000 scenes takes minutes; garments are ≥ 12 % of the side
        BatchSize = 16,               // our choice: 62 steps per epoch of 1000 scenes
        ReferenceBatchSize = 16,
        LearningRate = 0.01,          // our choice: from scratch (no ImageNet backbone) 1e-3 barely moved the loss in a few hundred steps
        Iterations = null,            // counted in epochs: a sample run is a handful of epochs
        Epochs = 30,                  // measured (1000 scenes, 1 thread, ~22 s an epoch): with the two settings below the mAP@0.5 was still 0.1–2 % after
                                      // 10 epochs and rose ~1 point an epoch from there; 12 epochs leave a detector that has not started to localise
        WarmupIterations = 100,       // our choice: the recipe's 1000 of 60k is 1/60 of the run; 100 steps is ~1/19 here, the first epoch and a half
        Milestones = [1240, 1550],    // the recipe's drops at 2/3 and 5/6 of the run (40k and 50k of 60k), of 30 epochs × 62 steps = 1860
        DetectionIouThreshold = 0.35, // measured: at 160² the scaled priors are coarse (840 of them): of 2467 training garments 29 % have no prior at
                                      // IoU ≥ 0.5 and there are 1.6 such priors per garment, so SSD's 0.5 gives almost no positives and the
                                      // hard negatives are near-copies of them; runs at 0.5 stayed at ≤ 0.3 % mAP for 9 epochs, at 0.35 it learns
        DetectionMaxZoomOut = 1,      // our choice: SSD's zoom-out up to 4× would shrink the smallest garments (a tenth are ≤ 18 px, √area) to
                                      // 5 px, far below the smallest prior (22 px); crop, flip and colour distortion are kept
        LogEverySteps = 10,
    };

    /// <summary>The preset called <paramref name="name"/> (case-insensitive).</summary>
    /// <exception cref="KeyNotFoundException">No preset has that name; the message lists them.</exception>
    public static TrainingOptions Get(string name) => name?.Trim().ToLowerInvariant() switch
    {
        "paper" => Paper,
        "released" => Released,
        "efficient" => Efficient,
        "fashion-mnist" => FashionMnist,
        "finetune" or "fine-tune" => FineTune,
        "detection" => Detection,
        "detection-scenes" => DetectionScenes,
        _ => throw new KeyNotFoundException($"Unknown preset '{name}'. Available: {string.Join(", ", Names)}."),
    };
}
