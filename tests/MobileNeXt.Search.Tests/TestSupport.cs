using System.Runtime.CompilerServices;

namespace MobileNeXt.Search.Tests;

internal static class TestSupport
{
    /// <summary>If libtorch cannot load, say why in one sentence instead of a TypeInitializationException per test.</summary>
    [ModuleInitializer]
    internal static void CheckNativeLibrary()
    {
        try { TorchRuntime.EnsureAvailable(); }
        catch (NativeLibraryUnavailableException e) { Console.Error.WriteLine("error: " + e.Message); }
    }
}
