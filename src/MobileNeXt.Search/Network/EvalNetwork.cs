using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Search.Network;

/// <summary>
/// The network a searched cell is evaluated in (DARTS's <c>NetworkCIFAR</c>, quark0/darts <c>cnn/model.py</c>): a 3×3
/// conv–BN stem of 3C channels, <see cref="EvalNetworkOptions.Layers"/> cells built from the genotype — reduction cells
/// at 1/3 and 2/3 of the depth, each doubling C — global average pooling and a linear classifier, and, in training, an
/// auxiliary head after the cell at 2/3 of the depth. Drop-path on the cells' non-identity operations is set per epoch
/// through <see cref="DropPathProbability"/>.
/// </summary>
/// <remarks>
/// <c>call(x)</c> gives the main logits only, in training or evaluation; <see cref="ForwardWithAuxiliary"/> gives the
/// auxiliary logits too (null in evaluation mode or without the head), for the training loss
/// L = CE(logits) + 0.4 · CE(auxiliary) (<c>train.py</c>).
/// </remarks>
public sealed class EvalNetwork : nn.Module<Tensor, Tensor>
{
    private readonly Sequential stem;
    private readonly ModuleList<EvalCell> cells;
    private readonly AuxiliaryHead? auxiliary_head;
    private readonly AdaptiveAvgPool2d global_pooling;
    private readonly Linear classifier;
    private double _dropPath;

    /// <summary>Builds the network <paramref name="options"/> describe.</summary>
    /// <exception cref="ArgumentException">An option is out of range or the genotype is malformed; the message says which.</exception>
    public EvalNetwork(EvalNetworkOptions options) : base(nameof(EvalNetwork))
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        int current = options.StemMultiplier * options.Channels;
        stem = nn.Sequential(nn.Conv2d(options.InputChannels, current, 3, padding: 1, bias: false), nn.BatchNorm2d(current));
        int prevPrev = current, prev = current, auxChannels = 0;
        current = options.Channels;
        bool reductionPrev = false;
        cells = new ModuleList<EvalCell>();
        for (int i = 0; i < options.Layers; i++)
        {
            bool reduction = options.IsReduction(i);
            if (reduction) current *= 2;
            var cell = new EvalCell(options.Genotype, prevPrev, prev, current, reduction, reductionPrev);
            cells.Add(cell);
            reductionPrev = reduction;
            (prevPrev, prev) = (prev, cell.OutputChannels(current));
            if (i == options.AuxiliaryCell) auxChannels = prev;
        }
        if (options.Auxiliary) auxiliary_head = new AuxiliaryHead(auxChannels, options.Classes);
        global_pooling = nn.AdaptiveAvgPool2d(1);
        classifier = nn.Linear(prev, options.Classes);
        RegisterComponents();
    }

    /// <summary>The shape the network was built with.</summary>
    public EvalNetworkOptions Options { get; }

    /// <summary>The cells, in order.</summary>
    public IReadOnlyList<EvalCell> Cells => cells.ToList();

    /// <summary>
    /// Probability with which each cell drops the output of each non-identity operation in training. DARTS raises it
    /// linearly over the run, <c>drop_path_prob · epoch / epochs</c> (<c>train.py</c>; <see cref="Evaluation.DartsEvalTask.DropPathAt"/>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Outside [0, 1).</exception>
    public double DropPathProbability
    {
        get => _dropPath;
        set
        {
            if (value is < 0 or >= 1 || double.IsNaN(value))
                throw new ArgumentOutOfRangeException(nameof(value), value, "A drop-path probability must be in [0, 1) (DARTS: up to 0.2).");
            _dropPath = value;
            foreach (var cell in cells) cell.DropPathProbability = value;
        }
    }


    /// <summary>Parameters of the network without the auxiliary head: the size DARTS reports (<c>utils.count_parameters_in_MB</c> skips "auxiliary").</summary>
    public long ReportedParameterCount() =>
        named_parameters().Where(p => !p.name.StartsWith("auxiliary_head.", StringComparison.Ordinal)).Sum(p => p.parameter.numel());

    /// <summary>Parameters, MACs and element-wise operations of one <paramref name="inputSize"/>² image in evaluation mode (no auxiliary head, no drop-path).</summary>
    public Profiling.ProfileReport Profile(int inputSize = 32) =>
        Profiling.ModelProfiler.Profile(this, Options.InputChannels, inputSize, x => call(x).Dispose());

    /// <summary>The main logits.</summary>
    public override Tensor forward(Tensor x)
    {
        var (logits, auxiliary) = ForwardWithAuxiliary(x);
        auxiliary?.Dispose();
        return logits;
    }

    /// <summary>The main logits and, in training with the head on, the auxiliary head's logits (else null).</summary>
    public (Tensor Logits, Tensor? Auxiliary) ForwardWithAuxiliary(Tensor x)
    {
        using var scope = NewDisposeScope();
        Tensor? auxiliary = null;
        var s0 = stem.call(x);
        var s1 = s0;
        for (int i = 0; i < cells.Count; i++)
        {
            (s0, s1) = (s1, cells[i].call(s0, s1));
            if (i == Options.AuxiliaryCell && auxiliary_head is not null && training) auxiliary = auxiliary_head.call(s1);
        }
        var logits = classifier.call(global_pooling.call(s1).flatten(1));
        return (logits.MoveToOuterDisposeScope(), auxiliary?.MoveToOuterDisposeScope());
    }
}
