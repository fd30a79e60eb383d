using System.Runtime.CompilerServices;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Training.Distributed;

/// <summary>
/// All of a model's gradients in one contiguous CPU tensor: every trainable parameter's <c>.grad</c> is a view into
/// <see cref="Buffer"/>, so backward accumulates straight into it and averaging over ranks is one in-place
/// all-reduce plus one divide, with no gathering or scattering copies.
/// </summary>
/// <remarks>
/// Verified with libtorch 2.10: once <c>p.grad</c> is set to a view, backward accumulates into that view in place
/// (it does not replace the tensor), and <c>optimizer.zero_grad()</c> zeroes it in place. <c>module.zero_grad()</c>
/// sets grads to null instead, which detaches them; <see cref="AverageGradients"/> notices and re-attaches them
/// (copying the new gradient in), counted in <see cref="Reattached"/>. Build the buffer after moving the model
/// (<c>Module.to</c> replaces the parameters); parameters must share one dtype and live on the CPU.
/// </remarks>
public sealed class FlatGradientBuffer : IDisposable
{
    private readonly Parameter[] _parameters;
    private readonly long[] _offsets;
    private bool _disposed;

    /// <summary>
    /// Allocates the buffer for the parameters that require a gradient and points their grads into it. A gradient
    /// the parameter already has is copied in; the others start at zero.
    /// </summary>
    public FlatGradientBuffer(IEnumerable<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _parameters = parameters.Where(p => p.requires_grad).ToArray();
        if (_parameters.Length == 0) throw new ArgumentException("No parameter requires a gradient.", nameof(parameters));
        var dtype = _parameters[0].dtype;
        foreach (var p in _parameters)
        {
            if (p.device_type != DeviceType.CPU)
                throw new ArgumentException($"FlatGradientBuffer works on CPU parameters; one is on {p.device}.", nameof(parameters));
            if (p.dtype != dtype)
                throw new ArgumentException($"All parameters must share one dtype; found {dtype} and {p.dtype}.", nameof(parameters));
        }
        _offsets = new long[_parameters.Length + 1];
        for (var i = 0; i < _parameters.Length; i++) _offsets[i + 1] = _offsets[i] + _parameters[i].numel();

        Buffer = zeros(_offsets[^1], dtype: dtype).DetachFromDisposeScope();
        using (no_grad())
        {
            for (var i = 0; i < _parameters.Length; i++) Attach(i);
        }
    }

    /// <summary>The flat gradient tensor (owned by this object; do not dispose it).</summary>
    public Tensor Buffer { get; }

    /// <summary>The parameters whose gradients live in <see cref="Buffer"/>, in buffer order.</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>Number of elements in <see cref="Buffer"/>.</summary>
    public long ElementCount => _offsets[^1];

    /// <summary>
    /// How many times a gradient had to be re-attached because something replaced or cleared it (for example
    /// <c>module.zero_grad()</c>, which sets grads to null). Zero in a healthy loop.
    /// </summary>
    public int Reattached { get; private set; }

    /// <summary>Zeroes every gradient in place (one fill of the buffer).</summary>
    public void Zero()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Buffer.zero_();
    }

    /// <summary>
    /// Whether every parameter's grad is still the view into <see cref="Buffer"/> (same memory), i.e. backward writes
    /// into the buffer.
    /// </summary>
    public bool IsAttached()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        for (var i = 0; i < _parameters.Length; i++)
            if (!IsAttached(i)) return false;
        return true;
    }

    /// <summary>
    /// Averages the gradients over all ranks: re-attaches any grad that was replaced (copying its values in), then one
    /// in-place <see cref="ICommunicator.AllReduceSum"/> over <see cref="Buffer"/> and a divide by the world size.
    /// Every rank must call it at the same point. A parameter without a gradient on this rank contributes zeros.
    /// </summary>
    public void AverageGradients(ICommunicator communicator)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        ObjectDisposedException.ThrowIf(_disposed, this);
        using (no_grad())
        {
            for (var i = 0; i < _parameters.Length; i++)
                if (!IsAttached(i)) { Attach(i); Reattached++; }
        }
        if (communicator.Size == 1) return;
        communicator.AllReduceSum(Buffer);
        using var size = ((long)communicator.Size).ToScalar(); // held until the call returns (KeptScalars explains why)
        Buffer.div_(size);
    }

    /// <summary>Releases the buffer. The parameters' grads keep their own references to its memory.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Buffer.Dispose();
    }

    private Tensor Slice(int i) => Buffer.narrow(0, _offsets[i], _offsets[i + 1] - _offsets[i]);

    private void Attach(int i)
    {
        var p = _parameters[i];
        using var slice = Slice(i);
        using var view = slice.view(p.shape);
        using (var old = p.grad)
        {
            if (old is null) view.zero_();
            else view.copy_(old);
        }
        p.grad = view;
    }

    private bool IsAttached(int i)
    {
        using var grad = _parameters[i].grad;
        if (grad is null || !grad.is_contiguous() || grad.numel() != _offsets[i + 1] - _offsets[i]) return false;
        if (grad.numel() == 0) return true;
        using var slice = Slice(i);
        return Unsafe.AreSame(ref grad.bytes[0], ref slice.bytes[0]);
    }
}
