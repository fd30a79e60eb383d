using MobileNeXt.Search.Network;

namespace MobileNeXt.Search.Search;

/// <summary>
/// The search's hyper-parameters. Defaults are DARTS's CIFAR-10 search (Liu et al. 2018, Sec. 3.1.1 and quark0/darts
/// <c>cnn/train_search.py</c>'s argument defaults), each cited on its property; MobileNeXt's Table 9 uses them unchanged
/// (supplementary Sec. B: "DARTS's own training policy and hyper-parameters").
/// </summary>
public sealed record DartsSearchOptions
{
    /// <summary>DARTS's search preset: every value at its default.</summary>
    public static DartsSearchOptions Darts { get; } = new();

    /// <summary>The network searched. Default 8 cells of 16 initial channels (Sec. 3.1.1; <c>--layers 8 --init_channels 16</c>).</summary>
    public SearchNetworkOptions Network { get; init; } = new();

    /// <summary>Epochs. Default 50 (Sec. 3.1.1 "50 epochs"; <c>--epochs 50</c>).</summary>
    public int Epochs { get; init; } = 50;

    /// <summary>Batch size of both halves. Default 64 (Sec. 3.1.1 "batch size 64"; <c>--batch_size 64</c>).</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Fraction of the training set that trains the weights; the rest trains α. Default 0.5 (Sec. 3.1.1 "half of the CIFAR-10 training data … as the validation set"; <c>--train_portion 0.5</c>).</summary>
    public double TrainPortion { get; init; } = 0.5;

    /// <summary>The weights' initial learning rate. Default 0.025 (Sec. 3.1.1 η_w = 0.025; <c>--learning_rate 0.025</c>).</summary>
    public double LearningRate { get; init; } = 0.025;

    /// <summary>The cosine schedule's final learning rate. Default 0.001 (<c>--learning_rate_min 0.001</c>; the paper says "annealed down to zero").</summary>
    public double LearningRateMin { get; init; } = 0.001;

    /// <summary>SGD momentum. Default 0.9 (Sec. 3.1.1; <c>--momentum 0.9</c>).</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>The weights' L2 weight decay. Default 3e-4 (Sec. 3.1.1; <c>--weight_decay 3e-4</c>).</summary>
    public double WeightDecay { get; init; } = 3e-4;

    /// <summary>Gradient-norm clipping of the weights. Default 5 (<c>--grad_clip 5</c>).</summary>
    public double GradientClip { get; init; } = 5;

    /// <summary>Adam's learning rate for α. Default 3e-4 (Sec. 3.1.1 η_α = 3 × 10⁻⁴; <c>--arch_learning_rate 3e-4</c>).</summary>
    public double ArchLearningRate { get; init; } = 3e-4;

    /// <summary>Adam's β₁ for α. Default 0.5 (Sec. 3.1.1 "momentum β = (0.5, 0.999)"; <c>architect.py</c>).</summary>
    public double ArchBeta1 { get; init; } = 0.5;

    /// <summary>Adam's β₂ for α. Default 0.999 (same source).</summary>
    public double ArchBeta2 { get; init; } = 0.999;

    /// <summary>Adam's weight decay on α. Default 1e-3 (Sec. 3.1.1 "weight decay 10⁻³"; <c>--arch_weight_decay 1e-3</c>).</summary>
    public double ArchWeightDecay { get; init; } = 1e-3;

    /// <summary>First- or second-order. Default first (<c>--unrolled</c> is off by default; Table 1 reports both).</summary>
    public SearchOrder Order { get; init; } = SearchOrder.First;

    /// <summary>Seed of weights, α and batch order. Default 2 (<c>--seed 2</c>).</summary>
    public int Seed { get; init; } = 2;

    /// <summary>Stop each epoch after this many steps (not DARTS's: for budgets and tests). Default null, the whole half.</summary>
    public int? MaxStepsPerEpoch { get; init; }

    /// <summary>Checks every value; the message says what to change.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Network, nameof(Network));
        Network.Validate();
        if (Epochs < 1) throw new ArgumentException($"Epochs must be at least 1 (DARTS: 50); got {Epochs}.");
        if (BatchSize < 1) throw new ArgumentException($"BatchSize must be at least 1 (DARTS: 64); got {BatchSize}.");
        if (TrainPortion is <= 0 or >= 1) throw new ArgumentException($"TrainPortion must be strictly between 0 and 1 (DARTS: 0.5); got {TrainPortion}.");
        if (LearningRate <= 0 || LearningRateMin < 0 || LearningRateMin > LearningRate)
            throw new ArgumentException($"Need 0 ≤ LearningRateMin ≤ LearningRate and LearningRate > 0 (DARTS: 0.001, 0.025); got {LearningRateMin}, {LearningRate}.");
        if (Momentum is < 0 or >= 1) throw new ArgumentException($"Momentum must be in [0, 1) (DARTS: 0.9); got {Momentum}.");
        if (WeightDecay < 0 || ArchWeightDecay < 0) throw new ArgumentException("Weight decays must not be negative (DARTS: 3e-4 and 1e-3).");
        if (GradientClip <= 0) throw new ArgumentException($"GradientClip must be positive (DARTS: 5); got {GradientClip}.");
        if (ArchLearningRate <= 0) throw new ArgumentException($"ArchLearningRate must be positive (DARTS: 3e-4); got {ArchLearningRate}.");
        if (ArchBeta1 is < 0 or >= 1 || ArchBeta2 is < 0 or >= 1) throw new ArgumentException($"Adam's betas must be in [0, 1) (DARTS: 0.5, 0.999); got {ArchBeta1}, {ArchBeta2}.");
        if (!Enum.IsDefined(Order)) throw new ArgumentException($"Order must be First or Second; got {Order}.");
        if (MaxStepsPerEpoch is < 1) throw new ArgumentException($"MaxStepsPerEpoch must be at least 1 when set; got {MaxStepsPerEpoch}.");
    }

    /// <summary>
    /// The weights' learning rate in epoch <paramref name="epoch"/> (0-based): cosine annealing without restart from
    /// <see cref="LearningRate"/> to <see cref="LearningRateMin"/> over <see cref="Epochs"/>, stepped per epoch as
    /// <c>train_search.py</c>'s <c>CosineAnnealingLR(optimizer, epochs, eta_min)</c>.
    /// </summary>
    public double LearningRateAt(int epoch) =>
        LearningRateMin + (LearningRate - LearningRateMin) * (1 + Math.Cos(Math.PI * epoch / Epochs)) / 2;
}
