using System.Reflection;

namespace MobileNeXt;

/// <summary>
/// Which exceptions mean bad input rather than a bug: the types this library documents for an invalid option, a
/// missing or unreadable file or folder, or a missing native backend. Apps print those as one sentence and keep the
/// stack trace of anything else (the <c>mobilenext</c> command alone, and each rank of an MPI job).
/// </summary>
public static class InputErrors
{
    /// <summary>
    /// The bad-input exception <paramref name="error"/> is or wraps (through reflection, type-initialiser and aggregate
    /// wrappers), or null when it is anything else.
    /// </summary>
    public static Exception? Find(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        for (Exception? x = error; x is not null; x = x.InnerException)
        {
            if (x is NativeLibraryUnavailableException or KeyNotFoundException or ArgumentException
                or IOException or InvalidDataException or UnauthorizedAccessException or NotSupportedException)
                return x;
            if (x is not (TargetInvocationException or TypeInitializationException or AggregateException)) return null;
        }
        return null;
    }
}
