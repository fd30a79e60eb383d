using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Training.Optimization;

/// <summary>
/// An exponential moving average of a model's state (timm's ModelEmaV2): after every optimizer step each
/// floating-point parameter and buffer becomes <c>decay · ema + (1 − decay) · model</c>; integer buffers
/// (<c>num_batches_tracked</c>) are copied. The average lives in a second model of the same architecture, so it can
/// be evaluated and saved like any model.
/// </summary>
public sealed class ModelEma : IDisposable
{
    private readonly (Tensor Ema, Tensor Model)[] _pairs;

    /// <summary>Starts the average at <paramref name="model"/>'s current state, kept in <paramref name="shadow"/> (same architecture; owned by this object).</summary>
    public ModelEma(nn.Module model, nn.Module shadow, double decay)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(shadow);
        if (!(decay > 0 && decay < 1)) throw new ArgumentOutOfRangeException(nameof(decay), decay, "EMA decay must lie in (0, 1), e.g. 0.9999.");
        Decay = decay;
        Module = shadow;
        var source = model.state_dict();
        var target = shadow.state_dict();
        if (!source.Keys.SequenceEqual(target.Keys))
            throw new ArgumentException("The EMA model does not have the same state_dict keys as the model.", nameof(shadow));
        _pairs = [.. target.Select(kv => (kv.Value, source[kv.Key]))];
        foreach (var p in shadow.parameters()) p.requires_grad = false;
        CopyFromModel();
        shadow.eval();
    }

    /// <summary>The averaged model (eval mode, no gradients).</summary>
    public nn.Module Module { get; }

    /// <summary>The decay per step.</summary>
    public double Decay { get; }

    /// <summary>Sets the average to the model's current state.</summary>
    public void CopyFromModel()
    {
        using var _ = no_grad();
        foreach (var (ema, model) in _pairs) ema.copy_(model);
    }

    /// <summary>Folds the model's current state into the average; call after every optimizer step.</summary>
    public void Update()
    {
        using var _ = no_grad();
        using Tensor weight = 1 - Decay; // one 0-dim tensor held for the whole loop, not a finalizable temporary per call (KeptScalars explains why)
        foreach (var (ema, model) in _pairs)
        {
            if (ema.is_floating_point()) ema.lerp_(model, weight);
            else ema.copy_(model);
        }
    }

    /// <inheritdoc />
    public void Dispose() => Module.Dispose();
}
