using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Training.Distributed;

/// <summary>
/// All of a model's gradients in one contiguous tensor: every trainable parameter's <c>.grad</c> is a view into
/// <see cref="Buffer"/>, so backward accumulates straight into it and averaging over ranks is one in-place
/// all-reduce plus one divide, with no gathering or scattering copies.
/// </summary>
/// <remarks>
/// Verified with libtorch 2.10: once <c>p.grad</c> is set to a view, backward accumulates into that view in place
/// (it does not replace the tensor), and <c>optimizer.zero_grad()</c> zeroes it in place. <c>module.zero_grad()</c>
/// sets grads to null instead, which detaches them; <see cref="AverageGradients"/> notices and re-attaches them
/// (copying the new gradient in), counted in <see cref="Reattached"/>. Build the buffer after moving the model
/// (<c>Module.to</c> replaces the parameters); parameters must share one dtype and one device. On a GPU the buffer lives
/// there too and <see cref="AverageGradients"/> stages it through one host copy, because the communicators reduce CPU
/// memory (a CUDA-aware MPI is not assumed).
/// Gradients must be float32 or float64 (the attachment check reads the storage pointer with the matching element type).
/// </remarks>
public sealed class FlatGradientBuffer : IDisposable
{
    private readonly Parameter[] _parameters;
    private readonly long[] _offsets;
    private readonly IntPtr _bufferData;
    private Tensor? _host;
    private bool _disposed;

    /// <summary>
    /// Allocates the buffer for the parameters that require a gradient and points their grads into it. A gradient
    /// the parameter already has is copied in; the others start at zero.
    /// </summary>
    public FlatGradientBuffer(IEnumerable<Parameter> parameters) : this(parameters, stageThroughHost: false) { }

    /// <summary>As the public constructor; <paramref name="stageThroughHost"/> forces the GPU path's host copy on the CPU (for tests).</summary>
    internal FlatGradientBuffer(IEnumerable<Parameter> parameters, bool stageThroughHost)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _parameters = parameters.Where(p => p.requires_grad).ToArray();
        if (_parameters.Length == 0) throw new ArgumentException("No parameter requires a gradient.", nameof(parameters));
        var dtype = _parameters[0].dtype;
        var device = _parameters[0].device;
        foreach (var p in _parameters)
        {
            if (p.device_type != device.type || p.device_index != device.index)
                throw new ArgumentException($"All parameters must live on one device; found {device} and {p.device}.", nameof(parameters));
            if (p.dtype != dtype)
                throw new ArgumentException($"All parameters must share one dtype; found {dtype} and {p.dtype}.", nameof(parameters));
        }
        if (dtype is not (ScalarType.Float32 or ScalarType.Float64))
            throw new ArgumentException($"FlatGradientBuffer holds float32 or float64 gradients; the parameters are {dtype}.", nameof(parameters));
        _offsets = new long[_parameters.Length + 1];
        for (var i = 0; i < _parameters.Length; i++) _offsets[i + 1] = _offsets[i] + _parameters[i].numel();

        Buffer = zeros(_offsets[^1], dtype: dtype, device: device).DetachFromDisposeScope();
        using (NewDisposeScope()) _bufferData = DataPointer(Buffer);
        StagesThroughHost = stageThroughHost || device.type != DeviceType.CPU;
        using (no_grad())
        {
            for (var i = 0; i < _parameters.Length; i++) Attach(i);
        }
    }

    /// <summary>The flat gradient tensor (owned by this object; do not dispose it).</summary>
    public Tensor Buffer { get; }

    /// <summary>The parameters whose gradients live in <see cref="Buffer"/>, in buffer order.</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>
    /// Whether <see cref="AverageGradients"/> copies the buffer to host memory, reduces it there and copies it back
    /// (parameters off the CPU), instead of reducing it in place.
    /// </summary>
    public bool StagesThroughHost { get; }

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
        using var size = ((long)communicator.Size).ToScalar(); // held until the call returns (KeptScalars explains why)
        if (!StagesThroughHost)
        {
            communicator.AllReduceSum(Buffer);
            Buffer.div_(size);
            return;
        }
        _host ??= empty(Buffer.shape, dtype: Buffer.dtype).DetachFromDisposeScope(); // allocated once, reused every step
        _host.copy_(Buffer);
        communicator.AllReduceSum(_host);
        _host.div_(size);
        Buffer.copy_(_host);
    }

    /// <summary>Releases the buffer. The parameters' grads keep their own references to its memory.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Buffer.Dispose();
        _host?.Dispose();
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

    // Tensor.storage<T>() must be asked for the tensor's own element type: another T converts the tensor first and
    // returns the pointer of that copy (checked with TorchSharp 0.107).
    private static IntPtr DataPointer(Tensor t) => t.dtype switch
    {
        ScalarType.Float32 => t.storage<float>().data_ptr(),
        ScalarType.Float64 => t.storage<double>().data_ptr(),
        _ => throw new NotSupportedException($"FlatGradientBuffer holds float32 or float64 gradients, not {t.dtype}."),
    };

    private bool IsAttached(int i)
    {
        using var grad = _parameters[i].grad;
        if (grad is null || grad.dtype != Buffer.dtype || !grad.is_contiguous() || grad.numel() != _offsets[i + 1] - _offsets[i]) return false;
        if (grad.numel() == 0) return true;
        // Same memory: the same storage at this parameter's offset (works on any device, unlike comparing .bytes).
        using var scope = NewDisposeScope(); // storage<T>() makes a tensor handle of its own
        return grad.storage_offset() == _offsets[i] && DataPointer(grad) == _bufferData;
    }
}
