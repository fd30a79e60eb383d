using System.Collections;
using System.Globalization;
using System.Text.Json;
using MobileNeXt.Interop;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace MobileNeXt.Search.Search;

/// <summary>
/// A search's resumable state in one file in PyTorch's format (a <c>torch.save</c> zip holding a dict): <c>kind</c>
/// ("darts-search"), <c>version</c>, <c>space</c> (the search space's name), <c>order</c>, <c>epochs_done</c>,
/// <c>history</c> (the finished epochs as JSON), <c>state_dict</c> (the search network: weights, BatchNorm statistics and
/// <c>alphas_normal</c>/<c>alphas_reduce</c>), <c>sgd_momentum</c> (the weights' momentum buffers by parameter index),
/// <c>adam_step</c>, <c>adam_exp_avg</c> and <c>adam_exp_avg_sq</c> (α's Adam moments by index). Nothing random is
/// stored: every batch and augmentation is re-derived from (seed, epoch, step).
/// </summary>
public static class SearchCheckpoint
{
    /// <summary>The <c>kind</c> entry that marks a search checkpoint.</summary>
    public const string Kind = "darts-search";

    /// <summary>Format version written.</summary>
    public const int FormatVersion = 1;

    /// <summary>The search space and epochs done recorded in <paramref name="path"/>, without loading the tensors into a network.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">It is not a search checkpoint.</exception>
    public static (string Space, int EpochsDone) Peek(string path)
    {
        var root = Open(path);
        try { return ((string)root["space"]!, Convert.ToInt32(root["epochs_done"], CultureInfo.InvariantCulture)); }
        finally { DisposeTensors(root); }
    }

    internal static void Write(string path, DartsSearch search, MomentumSgd sgd, ArchitectureAdam adam)
    {
        var (adamSteps, first, second) = adam.State;
        var root = new Hashtable
        {
            ["kind"] = Kind,
            ["version"] = FormatVersion,
            ["space"] = search.Network.Options.Space.Name,
            ["order"] = (int)search.Options.Order,
            ["epochs_done"] = search.EpochsDone,
            ["history"] = JsonSerializer.Serialize(search.History),
            ["state_dict"] = ToTable(search.Network.state_dict()),
            ["sgd_momentum"] = Indexed(Enumerable.Range(0, sgd.Parameters.Count).Select(sgd.Buffer).ToList()),
            ["adam_step"] = adamSteps,
            ["adam_exp_avg"] = Indexed(first),
            ["adam_exp_avg_sq"] = Indexed(second),
        };
        AtomicFile.Write(path, stream => PyTorchPickler.PickleStateDict(stream, root, leaveOpen: true));
    }

    internal static IReadOnlyList<SearchEpoch> Restore(string path, DartsSearch search, MomentumSgd sgd, ArchitectureAdam adam)
    {
        var root = Open(path);
        try
        {
            string space = (string)root["space"]!, mine = search.Network.Options.Space.Name;
            if (space != mine)
                throw new InvalidDataException($"'{path}' is a search of space '{space}'; it cannot resume a search of '{mine}'. Resume with the space '{space}', or start a new search in another folder.");
            int order = Convert.ToInt32(root["order"], CultureInfo.InvariantCulture), myOrder = (int)search.Options.Order;
            if (order != myOrder)
                throw new InvalidDataException($"'{path}' is an order-{order} search; it cannot resume as order {myOrder} (a switch mid-search is neither DARTS's first- nor its second-order method). Resume with order {order} (mobilenext search --order {order}).");
            if (root["state_dict"] is not IDictionary state) throw new InvalidDataException($"'{path}' has no state_dict.");
            using (no_grad())
                foreach (var (name, target) in search.Network.state_dict())
                {
                    if (state[name] is not Tensor saved || !saved.shape.SequenceEqual(target.shape))
                        throw new InvalidDataException($"'{path}' does not fit this search network: '{name}' is {(state[name] is Tensor t ? $"[{string.Join(", ", t.shape)}]" : "missing")}, the network's is [{string.Join(", ", target.shape)}]. Resume with the options the search started with.");
                    target.copy_(saved);
                }
            sgd.Restore(FromIndexed(root["sgd_momentum"], sgd.Parameters.Count, path));
            var alphas = search.Network.ArchitectureParameters().Count;
            adam.Restore(Convert.ToInt64(root["adam_step"], CultureInfo.InvariantCulture),
                FromIndexed(root["adam_exp_avg"], alphas, path), FromIndexed(root["adam_exp_avg_sq"], alphas, path));
            var history = JsonSerializer.Deserialize<List<SearchEpoch>>((string)root["history"]!)
                ?? throw new InvalidDataException($"'{path}' has no history.");
            if (history.Count != Convert.ToInt32(root["epochs_done"], CultureInfo.InvariantCulture))
                throw new InvalidDataException($"'{path}' is damaged: its history holds {history.Count} epochs but it records {root["epochs_done"]} done.");
            return history;
        }
        catch (Exception e) when (e is InvalidCastException or JsonException or NullReferenceException)
        {
            throw new InvalidDataException($"'{path}' is a damaged search checkpoint ({e.Message}).", e);
        }
        finally
        {
            DisposeTensors(root);
        }
    }

    private static Hashtable Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Search checkpoint '{path}' does not exist.", path);
        Hashtable root;
        try { root = PyTorchUnpickler.UnpickleStateDict(path); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidDataException($"'{path}' is not a readable search checkpoint ({e.GetType().Name}: {e.Message}).", e);
        }
        if (root["kind"] as string != Kind || root["version"] is not int version || root["space"] is not string)
        {
            DisposeTensors(root);
            throw new InvalidDataException($"'{path}' is not a search checkpoint of this library (no kind '{Kind}').");
        }
        if (version > FormatVersion)
        {
            DisposeTensors(root);
            throw new InvalidDataException($"'{path}' is search checkpoint format {version}; this version reads up to {FormatVersion}. Update MobileNeXt.Search.");
        }
        return root;
    }

    private static Hashtable ToTable(IDictionary<string, Tensor> tensors)
    {
        var table = new Hashtable();
        foreach (var (k, v) in tensors) table[k] = v;
        return table;
    }

    private static Hashtable Indexed(IReadOnlyList<Tensor?> tensors)
    {
        var table = new Hashtable();
        for (int i = 0; i < tensors.Count; i++)
            if (tensors[i] is { } t) table[i.ToString(CultureInfo.InvariantCulture)] = t;
        return table;
    }

    private static Tensor?[] FromIndexed(object? value, int count, string path)
    {
        if (value is not IDictionary table) throw new InvalidDataException($"'{path}' lacks an optimiser's state.");
        var result = new Tensor?[count];
        foreach (DictionaryEntry kv in table)
        {
            int i = int.Parse((string)kv.Key, CultureInfo.InvariantCulture);
            if (i < 0 || i >= count) throw new InvalidDataException($"'{path}' holds optimiser state for parameter {i}, but the network has {count}.");
            result[i] = (Tensor)kv.Value!;
        }
        return result;
    }

    private static void DisposeTensors(IDictionary table)
    {
        foreach (var v in table.Values)
        {
            if (v is Tensor t) t.Dispose();
            else if (v is IDictionary d) DisposeTensors(d);
        }
    }
}
