using System.Runtime.CompilerServices;

namespace MobileNeXt.Training.Tests;

internal static class TestSupport
{
    /// <summary>
    /// Runs before any test: if libtorch cannot load, say why in one sentence (with the fix) instead of leaving each
    /// tensor test to fail with a TypeInitializationException stack.
    /// </summary>
    [ModuleInitializer]
    internal static void CheckNativeLibrary()
    {
        try { TorchRuntime.EnsureAvailable(); }
        catch (NativeLibraryUnavailableException e) { Console.Error.WriteLine("error: " + e.Message); }
    }
}
