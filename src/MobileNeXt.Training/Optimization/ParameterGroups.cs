using TorchSharp;
using TorchSharp.Modules;

namespace MobileNeXt.Training.Optimization;

/// <summary>
/// The model's parameters split by whether they get weight decay. Excluded (when asked) are the tensors of rank ≤ 1:
/// BatchNorm weights and biases and every bias, the same rule as timm's <c>param_groups_weight_decay</c>
/// (<c>param.ndim &lt;= 1 or name.endswith(".bias")</c>), which the released recipe used.
/// </summary>
public sealed class ParameterGroups
{
    private ParameterGroups(IReadOnlyList<(string Name, Parameter Parameter)> decay, IReadOnlyList<(string Name, Parameter Parameter)> noDecay)
    {
        Decay = decay;
        NoDecay = noDecay;
    }

    /// <summary>Parameters that get weight decay, in <c>named_parameters</c> order.</summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> Decay { get; }

    /// <summary>Parameters that get none, in <c>named_parameters</c> order.</summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> NoDecay { get; }

    /// <summary>All parameters in optimizer order: <see cref="Decay"/>, then <see cref="NoDecay"/>.</summary>
    public IEnumerable<(string Name, Parameter Parameter)> All => Decay.Concat(NoDecay);

    /// <summary>Splits <paramref name="model"/>'s trainable parameters.</summary>
    /// <param name="model">The model.</param>
    /// <param name="decayNormAndBias">True puts everything in <see cref="Decay"/> (the paper); false excludes rank ≤ 1 tensors (the released code).</param>
    public static ParameterGroups Split(torch.nn.Module model, bool decayNormAndBias)
    {
        ArgumentNullException.ThrowIfNull(model);
        var decay = new List<(string, Parameter)>();
        var noDecay = new List<(string, Parameter)>();
        foreach (var (name, p) in model.named_parameters())
        {
            if (!p.requires_grad) continue;
            bool exempt = !decayNormAndBias && (p.dim() <= 1 || name.EndsWith(".bias", StringComparison.Ordinal));
            (exempt ? noDecay : decay).Add((name, p));
        }
        return new ParameterGroups(decay, noDecay);
    }

    /// <summary>
    /// An SGD optimizer over the groups (built after any <c>model.to(…)</c>: moving replaces parameters): the decay group
    /// gets <paramref name="weightDecay"/>, the other none.
    /// </summary>
    public SgdOptimizer CreateSgd(double learningRate, double momentum, bool nesterov, double weightDecay) =>
        new(this, learningRate, momentum, nesterov, weightDecay);

    /// <summary>
    /// An RMSpropTF optimizer over the groups (built after any <c>model.to(…)</c>): the decay group gets
    /// <paramref name="weightDecay"/>, the other none.
    /// </summary>
    public RmsPropTfOptimizer CreateRmsPropTf(double learningRate, double alpha, double momentum, double epsilon, double weightDecay) =>
        new(this, learningRate, alpha, momentum, epsilon, weightDecay);
}
