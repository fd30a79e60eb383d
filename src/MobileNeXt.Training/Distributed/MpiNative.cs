using System.Runtime.InteropServices;

namespace MobileNeXt.Training.Distributed;

/// <summary>
/// The few Open MPI 4 entry points the communicator needs, called directly from <c>libmpi.so.40</c>. Open MPI's
/// predefined handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, …) are the addresses of exported globals, read once with
/// <see cref="NativeLibrary.GetExport"/>. Buffers are passed as <c>ref byte</c> into a tensor's own memory (native,
/// so nothing is pinned or copied).
/// </summary>
internal static class MpiNative
{
    internal const string LibraryName = "libmpi.so.40";

    internal const int Success = 0;
    internal const int ThreadSerialized = 2; // Open MPI: SINGLE 0, FUNNELED 1, SERIALIZED 2, MULTIPLE 3
    internal const int MaxErrorString = 256;

    /// <summary>MPI_IN_PLACE in Open MPI.</summary>
    internal static readonly IntPtr InPlace = 1;

    private static readonly Lazy<(IntPtr Handle, string? Error)> Library = new(() =>
    {
        try { return (NativeLibrary.Load(LibraryName), null); }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException) { return (IntPtr.Zero, e.Message); }
    });

    /// <summary>Loads libmpi.so.40 once; false (with the loader's reason) when it is not installed.</summary>
    internal static bool TryLoad(out string? error)
    {
        error = Library.Value.Error;
        return Library.Value.Handle != IntPtr.Zero;
    }

    internal static IntPtr Export(string name)
    {
        if (!TryLoad(out var error)) throw new DllNotFoundException(error);
        return NativeLibrary.GetExport(Library.Value.Handle, name);
    }

    [DllImport(LibraryName)] internal static extern int MPI_Initialized(out int flag);
    [DllImport(LibraryName)] internal static extern int MPI_Finalized(out int flag);
    [DllImport(LibraryName)] internal static extern int MPI_Init_thread(IntPtr argc, IntPtr argv, int required, out int provided);
    [DllImport(LibraryName)] internal static extern int MPI_Finalize();
    [DllImport(LibraryName)] internal static extern int MPI_Abort(IntPtr comm, int errorCode);
    [DllImport(LibraryName)] internal static extern int MPI_Comm_rank(IntPtr comm, out int rank);
    [DllImport(LibraryName)] internal static extern int MPI_Comm_size(IntPtr comm, out int size);
    [DllImport(LibraryName)] internal static extern int MPI_Comm_set_errhandler(IntPtr comm, IntPtr errhandler);
    [DllImport(LibraryName)] internal static extern int MPI_Error_string(int errorCode, byte[] text, out int length);
    [DllImport(LibraryName)] internal static extern int MPI_Barrier(IntPtr comm);
    [DllImport(LibraryName)] internal static extern int MPI_Bcast(ref byte buffer, int count, IntPtr datatype, int root, IntPtr comm);
    [DllImport(LibraryName)] internal static extern int MPI_Allreduce(IntPtr sendBuffer, ref byte receiveBuffer, int count, IntPtr datatype, IntPtr op, IntPtr comm);

    /// <summary>True when MPI_Init has run in this process and MPI_Finalize has not.</summary>
    internal static bool IsActive()
    {
        if (!TryLoad(out _)) return false;
        MPI_Initialized(out var initialized);
        if (initialized == 0) return false;
        MPI_Finalized(out var finalized);
        return finalized == 0;
    }

    internal static string ErrorString(int code)
    {
        var text = new byte[MaxErrorString];
        return MPI_Error_string(code, text, out var length) == Success
            ? System.Text.Encoding.ASCII.GetString(text, 0, Math.Clamp(length, 0, text.Length))
            : $"MPI error {code}";
    }
}
