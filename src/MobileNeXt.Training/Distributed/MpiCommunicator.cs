using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Training.Distributed;

/// <summary>An MPI call returned an error code; the message names the call and Open MPI's explanation.</summary>
public sealed class MpiException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MpiException(string message, int errorCode = 0, Exception? inner = null) : base(message, inner) => ErrorCode = errorCode;

    /// <summary>The MPI error code, or 0 when the failure was not an MPI return code.</summary>
    public int ErrorCode { get; }
}

/// <summary>
/// <see cref="ICommunicator"/> over Open MPI 4 (<c>libmpi.so.40</c>, Debian's <c>openmpi-bin</c>) by direct P/Invoke:
/// MPI_COMM_WORLD, in-place collectives on a contiguous CPU tensor's own memory, no copies.
/// One per process: MPI can be initialised once, and <see cref="Dispose"/> finalises it.
/// Start the job with <c>mpirun --allow-run-as-root --oversubscribe --bind-to none -np N dotnet app.dll</c>, and
/// create it through <see cref="Communicators.Create"/>.
/// </summary>
/// <remarks>
/// MPI is initialised with MPI_THREAD_SERIALIZED (calls may come from any thread, never two at once, which a lock
/// here guarantees) because .NET does not promise that a training loop stays on the thread that initialised MPI.
/// MPI_COMM_WORLD's error handler is set to MPI_ERRORS_RETURN, so a failing call becomes an <see cref="MpiException"/>;
/// a rank that dies still takes the job down through <see cref="AbortOnException(Action)"/>.
/// </remarks>
public sealed class MpiCommunicator : ICommunicator
{
    private static readonly object Gate = new();
    private static MpiCommunicator? _live;

    // Larger messages are sent in pieces: MPI counts are 32-bit.
    private const int MaxChunkBytes = 1 << 30;

    private readonly IntPtr _world;
    private readonly IntPtr _sum;
    private readonly IntPtr _byte;
    private readonly Dictionary<ScalarType, IntPtr> _reduceTypes;
    private readonly bool _ownsInit;
    private bool _disposed;

    /// <summary>
    /// Initialises MPI (unless something in this process already did) and joins MPI_COMM_WORLD.
    /// Throws <see cref="MpiException"/> when libmpi.so.40 is missing or MPI cannot start.
    /// </summary>
    public MpiCommunicator()
    {
        if (!MpiNative.TryLoad(out var loadError))
            throw new MpiException($"Open MPI's runtime library {MpiNative.LibraryName} could not be loaded ({loadError}); install it with 'apt-get install openmpi-bin'.");
        lock (Gate)
        {
            if (_live is not null)
                throw new InvalidOperationException("An MpiCommunicator already exists in this process; MPI allows one initialisation per process, so share that one.");
            MpiNative.MPI_Finalized(out var finalized);
            if (finalized != 0)
                throw new InvalidOperationException("MPI was already finalised in this process (an MpiCommunicator was disposed); MPI cannot be initialised twice.");

            _world = MpiNative.Export("ompi_mpi_comm_world");
            _sum = MpiNative.Export("ompi_mpi_op_sum");
            _byte = MpiNative.Export("ompi_mpi_byte");
            _reduceTypes = new Dictionary<ScalarType, IntPtr>
            {
                [ScalarType.Float32] = MpiNative.Export("ompi_mpi_float"),
                [ScalarType.Float64] = MpiNative.Export("ompi_mpi_double"),
                [ScalarType.Int32] = MpiNative.Export("ompi_mpi_int32_t"),
                [ScalarType.Int64] = MpiNative.Export("ompi_mpi_int64_t"),
            };

            MpiNative.MPI_Initialized(out var initialized);
            if (initialized == 0)
            {
                Check(MpiNative.MPI_Init_thread(IntPtr.Zero, IntPtr.Zero, MpiNative.ThreadSerialized, out var provided), "MPI_Init_thread");
                ThreadLevel = provided;
                _ownsInit = true;
            }
            Check(MpiNative.MPI_Comm_set_errhandler(_world, MpiNative.Export("ompi_mpi_errors_return")), "MPI_Comm_set_errhandler");
            Check(MpiNative.MPI_Comm_rank(_world, out var rank), "MPI_Comm_rank");
            Check(MpiNative.MPI_Comm_size(_world, out var size), "MPI_Comm_size");
            Rank = rank;
            Size = size;
            _live = this;
        }
    }

    /// <inheritdoc />
    public int Rank { get; }

    /// <inheritdoc />
    public int Size { get; }

    /// <summary>The thread support MPI_Init_thread granted (2 = MPI_THREAD_SERIALIZED), or −1 if MPI was initialised elsewhere.</summary>
    public int ThreadLevel { get; } = -1;

    /// <summary>
    /// Sums <paramref name="tensor"/> element-wise over all ranks, in place on its own memory (MPI_IN_PLACE).
    /// Float32, float64, int32 and int64 tensors; contiguous and on the CPU, or an <see cref="ArgumentException"/>.
    /// </summary>
    public void AllReduceSum(Tensor tensor)
    {
        var bytes = Memory(tensor, nameof(tensor));
        if (!_reduceTypes.TryGetValue(tensor.dtype, out var datatype))
            throw new ArgumentException($"AllReduceSum supports float32, float64, int32 and int64 tensors, not {tensor.dtype}.", nameof(tensor));
        var elementSize = (int)tensor.element_size();
        lock (Gate)
        {
            ThrowIfDisposed();
            var chunk = MaxChunkBytes / elementSize * elementSize;
            for (var offset = 0L; offset < bytes.Length; offset += chunk)
            {
                var length = (int)Math.Min(chunk, bytes.Length - offset);
                Check(MpiNative.MPI_Allreduce(MpiNative.InPlace, ref bytes[(int)offset], length / elementSize, datatype, _sum, _world), "MPI_Allreduce");
            }
        }
    }

    /// <summary>
    /// Overwrites <paramref name="tensor"/> on every rank with rank <paramref name="root"/>'s bytes. Any dtype;
    /// contiguous and on the CPU, or an <see cref="ArgumentException"/>. Every rank must pass the same shape and dtype.
    /// </summary>
    public void Broadcast(Tensor tensor, int root = 0)
    {
        var bytes = Memory(tensor, nameof(tensor));
        if (root < 0 || root >= Size) throw new ArgumentOutOfRangeException(nameof(root), root, $"The job has ranks 0 … {Size - 1}.");
        lock (Gate)
        {
            ThrowIfDisposed();
            for (var offset = 0L; offset < bytes.Length; offset += MaxChunkBytes)
            {
                var length = (int)Math.Min(MaxChunkBytes, bytes.Length - offset);
                Check(MpiNative.MPI_Bcast(ref bytes[(int)offset], length, _byte, root, _world), "MPI_Bcast");
            }
        }
    }

    /// <inheritdoc />
    public void Barrier()
    {
        lock (Gate)
        {
            ThrowIfDisposed();
            Check(MpiNative.MPI_Barrier(_world), "MPI_Barrier");
        }
    }

    /// <summary>Finalises MPI if this communicator initialised it. Every rank must call it (it is collective).</summary>
    public void Dispose()
    {
        lock (Gate)
        {
            if (_disposed) return;
            _disposed = true;
            if (_ownsInit && MpiNative.IsActive()) Check(MpiNative.MPI_Finalize(), "MPI_Finalize");
            if (ReferenceEquals(_live, this)) _live = null;
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/>; if it throws, prints the rank and the error to standard error and ends the whole
    /// MPI job at once with MPI_Abort(MPI_COMM_WORLD, 1), so the other ranks do not wait forever in a collective.
    /// Outside an MPI job the exception is rethrown unchanged and nothing is printed.
    /// </summary>
    public static void AbortOnException(Action body)
    {
        ArgumentNullException.ThrowIfNull(body);
        AbortOnException(() => { body(); return 0; });
    }

    /// <summary>As <see cref="AbortOnException(Action)"/>, returning <paramref name="body"/>'s result (e.g. an exit code).</summary>
    public static T AbortOnException<T>(Func<T> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        try
        {
            return body();
        }
        catch (Exception e)
        {
            AbortJob(e);
            throw; // outside an MPI job: the caller sees the original exception
        }
    }

    /// <summary>
    /// Makes an unhandled exception on any thread end the whole MPI job (as <see cref="AbortOnException(Action)"/>
    /// does) instead of leaving the other ranks blocked. Safe to call more than once and outside an MPI job.
    /// </summary>
    public static void AbortJobOnUnhandledException()
    {
        lock (Gate)
        {
            if (_handlerInstalled) return;
            _handlerInstalled = true;
        }
        AppDomain.CurrentDomain.UnhandledException += (_, args) =>
        {
            if (args.ExceptionObject is Exception e) AbortJob(e);
        };
    }

    private static bool _handlerInstalled;

    /// <summary>
    /// Inside a running MPI job: prints "rank R of N failed: …" to standard error, with the stack trace unless the
    /// exception is one this library raises for bad input (an invalid option or a missing or unreadable file), and calls
    /// MPI_Abort(MPI_COMM_WORLD, <paramref name="errorCode"/>), which does not return. Outside one it does nothing, so a
    /// single-process run reports its error once, the way its caller does.
    /// </summary>
    public static void AbortJob(Exception error, int errorCode = 1)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (!MpiNative.IsActive()) return;
        var (rank, size) = Identity();
        try
        {
            Console.Out.Flush();
            // bad input is one sentence (the wrapped exception's own); a bug keeps its stack trace
            var input = InputErrors.Find(error);
            var shown = input ?? error;
            Console.Error.WriteLine($"rank {rank} of {size} failed, ending the MPI job: {shown.GetType().Name}: {shown.Message}");
            if (input is null) Console.Error.WriteLine(error);

            Console.Error.Flush();
        }
        catch (IOException) { }
        MpiNative.MPI_Abort(MpiNative.Export("ompi_mpi_comm_world"), errorCode);
    }

    private static (string Rank, string Size) Identity()
    {
        var live = _live;
        if (live is not null) return (live.Rank.ToString(), live.Size.ToString());
        return (Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_RANK") ?? Environment.GetEnvironmentVariable("PMIX_RANK") ?? "0",
                Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") ?? "1");
    }

    /// <summary>The tensor's own bytes (a span over its memory, no copy), after checking it is a contiguous CPU tensor.</summary>
    internal static Span<byte> Memory(Tensor tensor, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(tensor, parameterName);
        if (tensor.device_type != DeviceType.CPU)
            throw new ArgumentException($"Collectives work on CPU tensors; this one is on {tensor.device}. Copy it to the CPU first.", parameterName);
        if (!tensor.is_contiguous())
            throw new ArgumentException("Collectives work in place on a contiguous tensor; this one is a non-contiguous view (call .contiguous() and copy back).", parameterName);
        return tensor.numel() == 0 ? Span<byte>.Empty : tensor.bytes;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private void Check(int code, string call)
    {
        if (code != MpiNative.Success)
            throw new MpiException($"{call} failed on rank {(_live == this ? Rank.ToString() : "?")}: {MpiNative.ErrorString(code)} (MPI error {code}).", code);
    }
}
