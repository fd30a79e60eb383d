using System.Reflection;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace MobileNeXt.Layers;

/// <summary>
/// What TorchSharp 0.107's custom autograd functions leave out: freeing a function's saved tensors once its backward has
/// run in a backward pass that does not keep the graph, as libtorch's own functions do (<c>Node::release_variables</c>).
/// </summary>
/// <remarks>
/// <para>Without it a custom function's saved tensors live until its graph is freed, after the whole backward pass: with
/// this library's BatchNorm (<see cref="ChannelsLastBatchNorm"/>) every layer's input, so memory grew through a
/// backward pass where libtorch's BatchNorm lets it shrink.</para>
/// <para>Hand-written against two internals: libtorch's exported
/// <c>torch::autograd::get_current_graph_task_keep_graph()</c> (false while a backward pass that frees its graph runs on
/// this thread), and TorchSharp's private list of a context's saved variables. Where either is missing the tensors are
/// simply kept, as before.</para>
/// </remarks>
internal static unsafe class LibTorchGraph
{
    private static readonly delegate* unmanaged<byte> CurrentKeepGraph;
    private static readonly FieldInfo? SavedVariables =
        typeof(autograd.AutogradContext).GetField("_savedVariables", BindingFlags.NonPublic | BindingFlags.Instance);

    static LibTorchGraph()
    {
        if (NativeLibrary.TryLoad("libtorch_cpu.so", out var libtorch)
            && NativeLibrary.TryGetExport(libtorch, "_ZN5torch8autograd33get_current_graph_task_keep_graphEv", out var keep))
            CurrentKeepGraph = (delegate* unmanaged<byte>)keep;
    }

    /// <summary>
    /// Whether the backward pass running on this thread keeps its graph (<c>retain_graph</c>); true when unknown or when
    /// none runs.
    /// </summary>
    public static bool KeepsGraph() => CurrentKeepGraph == null || CurrentKeepGraph() != 0;

    /// <summary>
    /// Frees the tensors <paramref name="ctx"/> saved for backward; false when it could not. Call only from backward,
    /// when the graph is not kept.
    /// </summary>
    public static bool ReleaseSaved(autograd.AutogradContext ctx)
    {
        if (SavedVariables?.GetValue(ctx) is not System.Collections.IEnumerable saved) return false;
        foreach (var v in saved) (v as IDisposable)?.Dispose();
        return true;
    }
}
