using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Training.Optimization;

/// <summary>
/// What <see cref="SgdOptimizer"/> and <see cref="RmsPropTfOptimizer"/> share: the parameters in
/// <see cref="ParameterGroups"/> order with their decay flags, the learning rate the trainer sets every step, zeroing
/// gradients in place, and per-parameter state tensors ("slots", e.g. momentum buffers) that a checkpoint saves and
/// restores by parameter name.
/// </summary>
/// <remarks>
/// The optimizers are hand-written rather than TorchSharp's because its steps pass temporary scalars to libtorch that a
/// garbage collection on another thread can finalize while libtorch reads them (<see cref="MobileNeXt.Layers.KeptScalars"/>);
/// a derived <see cref="Step"/> makes its scalars once per step and holds them until it ends.
/// </remarks>
public abstract class HandWrittenOptimizer : IDisposable
{
    /// <summary>The slot of the momentum buffers (every optimizer here has them).</summary>
    private protected const int MomentumSlot = 0;

    private protected readonly Parameter[] Parameters;
    private protected readonly bool[] Decayed;
    private readonly string[] _names;
    /// <summary>State tensors by [slot][parameter index]; null until a parameter's first step.</summary>
    private protected readonly Tensor?[][] Slots;
    private bool _disposed;

    /// <summary>An optimizer over <paramref name="groups"/> with <paramref name="slots"/> state tensors per parameter.</summary>
    private protected HandWrittenOptimizer(ParameterGroups groups, int slots, double learningRate, double weightDecay)
    {
        ArgumentNullException.ThrowIfNull(groups);
        if (weightDecay < 0) throw new ArgumentException($"Weight decay must be ≥ 0, got {weightDecay}.", nameof(weightDecay));
        var all = groups.Decay.Select(x => (x.Name, x.Parameter, Decay: true))
            .Concat(groups.NoDecay.Select(x => (x.Name, x.Parameter, Decay: false))).ToArray();
        _names = [.. all.Select(x => x.Name)];
        Parameters = [.. all.Select(x => x.Parameter)];
        Decayed = [.. all.Select(x => x.Decay)];
        Slots = [.. Enumerable.Range(0, slots).Select(_ => new Tensor?[all.Length])];
        LearningRate = learningRate;
        WeightDecay = weightDecay;
    }

    /// <summary>The learning rate of the next <see cref="Step"/> (the trainer sets it every iteration).</summary>
    public double LearningRate { get; set; }

    /// <summary>Weight decay λ of the decay group (the other group gets none).</summary>
    public double WeightDecay { get; }

    /// <summary>Zeroes every existing gradient in place (the storage stays, so a flat gradient buffer stays attached).</summary>
    public void ZeroGrad()
    {
        ThrowIfDisposed();
        foreach (var p in Parameters)
        {
            using var grad = p.grad;
            grad?.zero_();
        }
    }

    /// <summary>
    /// Updates every parameter that has a gradient and requires one; a frozen parameter (<c>requires_grad</c> false, even
    /// with a zeroed gradient view from a <see cref="Distributed.FlatGradientBuffer"/>) gets no update and no weight
    /// decay, and its state tensors stay as they are, as PyTorch's optimizers skip a parameter whose grad is None.
    /// </summary>
    public abstract void Step();

    /// <summary>The momentum buffers by parameter name (live tensors, owned by the optimizer); parameters without one yet are absent.</summary>
    public IReadOnlyDictionary<string, Tensor> MomentumBuffers() => SlotByName(MomentumSlot);

    /// <summary>Replaces the momentum buffers with copies of <paramref name="buffers"/> (by parameter name; others are cleared).</summary>
    /// <exception cref="InvalidDataException">A buffer's shape differs from its parameter's.</exception>
    public void LoadMomentumBuffers(IReadOnlyDictionary<string, Tensor> buffers) => LoadSlot(MomentumSlot, buffers, "momentum buffer");

    private protected void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>Slot <paramref name="slot"/>'s tensors by parameter name (live, owned by the optimizer).</summary>
    private protected IReadOnlyDictionary<string, Tensor> SlotByName(int slot)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        for (int i = 0; i < _names.Length; i++)
            if (Slots[slot][i] is { } t) result[_names[i]] = t;
        return result;
    }

    /// <summary>Replaces slot <paramref name="slot"/> with copies of <paramref name="tensors"/> on each parameter's device.</summary>
    private protected void LoadSlot(int slot, IReadOnlyDictionary<string, Tensor> tensors, string what)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ThrowIfDisposed();
        using var _ = no_grad();
        var target = Slots[slot];
        for (int i = 0; i < _names.Length; i++)
        {
            target[i]?.Dispose();
            target[i] = null;
            if (!tensors.TryGetValue(_names[i], out var source)) continue;
            if (!source.shape.SequenceEqual(Parameters[i].shape))
                throw new InvalidDataException($"The {what} of '{_names[i]}' has shape [{string.Join(", ", source.shape)}], its parameter [{string.Join(", ", Parameters[i].shape)}].");
            using var scope = NewDisposeScope(); // the intermediate detach/clone when the tensor changes device
            target[i] = source.detach().clone().to(Parameters[i].device).MoveToOuterDisposeScope().DetachFromDisposeScope();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var slot in Slots)
            foreach (var t in slot) t?.Dispose();
        GC.SuppressFinalize(this);
    }
}
