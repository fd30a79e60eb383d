using MobileNeXt.Training.Recipes;

namespace MobileNeXt.Search.Evaluation;

/// <summary>
/// The recipe that trains a searched cell's evaluation network. <see cref="Darts"/> is DARTS's CIFAR-10 evaluation
/// (Liu et al. 2018, Sec. 3.3 and quark0/darts <c>cnn/train.py</c>'s argument defaults and flags from the README's
/// <c>python train.py --auxiliary --cutout</c>), which MobileNeXt's Table 9 uses unchanged (supplementary Sec. B: "DARTS's
/// own training policy and hyper-parameters"); <see cref="FashionMnistSmall"/> is this repository's budget for a 2-core
/// machine, the same recipe at a smaller network and fewer epochs.
/// </summary>
public sealed record DartsEvalOptions
{
    /// <summary>DARTS's evaluation recipe.</summary>
    public static DartsEvalOptions Darts { get; } = new();

    /// <summary>
    /// Table 9 at small scale on Fashion-MNIST: 8 cells of 16 initial channels (the search network's size), 10 epochs,
    /// everything else DARTS's (the cosine schedule, drop-path ramp and auxiliary weight scale with the epochs). About
    /// 0.25 M parameters for DARTS_V2 at this size instead of 3.3 M; see bench/table9-fashion.sh for the time it takes.
    /// </summary>
    public static DartsEvalOptions FashionMnistSmall { get; } = new() { Channels = 16, Layers = 8, Epochs = 10 };

    /// <summary>Initial channels. Default 36 (<c>--init_channels 36</c>; Sec. 3.3).</summary>
    public int Channels { get; init; } = 36;

    /// <summary>Cells. Default 20 (<c>--layers 20</c>; Sec. 3.3 "20 cells").</summary>
    public int Layers { get; init; } = 20;

    /// <summary>Epochs. Default 600 (<c>--epochs 600</c>; Sec. 3.3 "600 epochs").</summary>
    public int Epochs { get; init; } = 600;

    /// <summary>Batch size. Default 96 (<c>--batch_size 96</c>; Sec. 3.3 "batch size 96").</summary>
    public int BatchSize { get; init; } = 96;

    /// <summary>Initial learning rate. Default 0.025 (<c>--learning_rate 0.025</c>).</summary>
    public double LearningRate { get; init; } = 0.025;

    /// <summary>SGD momentum. Default 0.9 (<c>--momentum 0.9</c>).</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>L2 weight decay. Default 3e-4 (<c>--weight_decay 3e-4</c>).</summary>
    public double WeightDecay { get; init; } = 3e-4;

    /// <summary>Gradient-norm clipping. Default 5 (<c>--grad_clip 5</c>).</summary>
    public double GradientClip { get; init; } = 5;

    /// <summary>Weight of the auxiliary head's loss. Default 0.4 (<c>--auxiliary_weight 0.4</c>; Sec. 3.3 "auxiliary towers with weight 0.4").</summary>
    public double AuxiliaryWeight { get; init; } = 0.4;

    /// <summary>Final drop-path probability, reached linearly over the epochs. Default 0.2 (<c>--drop_path_prob 0.2</c>; Sec. 3.3 "path dropout of probability 0.2").</summary>
    public double DropPath { get; init; } = 0.2;

    /// <summary>Cutout side. Default 16 (<c>--cutout_length 16</c>; Sec. 3.3 "cutout with length 16").</summary>
    public int CutoutLength { get; init; } = 16;

    /// <summary>Random-crop padding. Default 4 (<c>utils._data_transforms_cifar10</c>: <c>RandomCrop(32, padding=4)</c>).</summary>
    public int CropPadding { get; init; } = 4;

    /// <summary>Seed. Default 0 (<c>--seed 0</c>).</summary>
    public int Seed { get; init; }

    /// <summary>Checks every value; the message says what to change.</summary>
    public void Validate()
    {
        if (Channels < 2 || Channels % 2 != 0) throw new ArgumentException($"Channels must be even and at least 2 (DARTS: 36); got {Channels}.");
        if (Layers < 3) throw new ArgumentException($"Layers must be at least 3 (DARTS: 20); got {Layers}.");
        if (Epochs < 1) throw new ArgumentException($"Epochs must be at least 1 (DARTS: 600); got {Epochs}.");
        if (BatchSize < 1) throw new ArgumentException($"BatchSize must be at least 1 (DARTS: 96); got {BatchSize}.");
        if (LearningRate <= 0) throw new ArgumentException($"LearningRate must be positive (DARTS: 0.025); got {LearningRate}.");
        if (Momentum is < 0 or >= 1) throw new ArgumentException($"Momentum must be in [0, 1) (DARTS: 0.9); got {Momentum}.");
        if (WeightDecay < 0) throw new ArgumentException($"WeightDecay must not be negative (DARTS: 3e-4); got {WeightDecay}.");
        if (GradientClip <= 0) throw new ArgumentException($"GradientClip must be positive (DARTS: 5); got {GradientClip}.");
        if (AuxiliaryWeight < 0) throw new ArgumentException($"AuxiliaryWeight must not be negative (DARTS: 0.4); got {AuxiliaryWeight}.");
        if (DropPath is < 0 or >= 1) throw new ArgumentException($"DropPath must be in [0, 1) (DARTS: 0.2); got {DropPath}.");
        if (CutoutLength < 0) throw new ArgumentException($"CutoutLength must not be negative (DARTS: 16); got {CutoutLength}.");
        if (CropPadding < 0) throw new ArgumentException($"CropPadding must not be negative (DARTS: 4); got {CropPadding}.");
    }

    /// <summary>The preset name <see cref="TrainingOptions()"/> records.</summary>
    public const string PresetName = "darts";

    /// <summary>
    /// The trainer's options for this recipe (<see cref="Training.Trainer"/> with a <see cref="DartsEvalTask"/>): SGD at
    /// <see cref="LearningRate"/> for a batch of <see cref="BatchSize"/> (scaled linearly for another batch, as every
    /// preset here is), momentum without Nesterov, L2 decay on every parameter (<c>train.py</c> hands
    /// <c>model.parameters()</c> to SGD), no warm-up, a cosine to 0 stepped once per epoch, gradient-norm clipping, no
    /// label smoothing, no dropout, no EMA, 32² inputs. The cosine is <c>train.py</c>'s <c>CosineAnnealingLR(optimizer,
    /// epochs)</c> (eta_min 0) stepped at the top of every epoch; with the PyTorch 0.3 DARTS ran on, whose scheduler
    /// constructor leaves <c>last_epoch</c> at −1, that gives epoch e the rate of e: 0.025 for the first, as its logs print. The network and regularisers go to the task
    /// (<see cref="DartsEvalSettings.From"/>).
    /// </summary>
    public TrainingOptions TrainingOptions()
    {
        Validate();
        return new()
        {
            Preset = PresetName,
            Model = "darts",
            InputSize = 32,
            DropRate = 0,
            Epochs = Epochs,
            BatchSize = BatchSize,
            ReferenceBatchSize = BatchSize,
            LearningRate = LearningRate,
            Optimizer = "sgd",
            Momentum = Momentum,
            Nesterov = false,
            WeightDecay = WeightDecay,
            DecayNormAndBias = true,
            LabelSmoothing = 0,
            WarmupEpochs = 0,
            Schedule = "cosine",
            MinLearningRate = 0,
            LearningRatePerEpoch = true,
            ClipGradNorm = GradientClip,
            ColorJitter = 0,
            EmaDecay = null,
            Seed = Seed,
        };
    }
}
