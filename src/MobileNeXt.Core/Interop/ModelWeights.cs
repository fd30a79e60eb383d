using System.Collections;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace MobileNeXt.Interop;

/// <summary>
/// Reads and writes a model's weights: PyTorch files (<c>torch.save</c> zip format: a state_dict <c>.pt</c>/<c>.pth</c>,
/// or a training-framework checkpoint <c>.pth.tar</c> holding <c>state_dict</c>/<c>state_dict_ema</c>, keys possibly
/// prefixed <c>module.</c>) and TorchSharp's own <c>.dat</c> format. Loading checks every key and shape before it
/// copies anything, and leaves the parameters trainable; saving writes a temporary file and renames it, so an
/// interrupted save never leaves a half-written file under the final name.
/// </summary>
public static class ModelWeights
{
    private const string DataParallelPrefix = "module.";

    /// <summary>Loads the weights in <paramref name="path"/> into <paramref name="model"/>, checking keys and shapes first.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a weights file, is truncated, or lacks the requested weights.</exception>
    /// <exception cref="WeightsMismatchException">The weights do not fit the model (listed in the message).</exception>
    public static void Load(nn.Module model, string path, CheckpointWeights which = CheckpointWeights.Auto)
    {
        ArgumentNullException.ThrowIfNull(model);
        var weights = Read(path, which);
        try
        {
            Load(model, weights, path);
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
    }

    /// <summary>Copies a state_dict into <paramref name="model"/> after checking that keys and shapes match exactly.</summary>
    /// <param name="model">The model to fill.</param>
    /// <param name="weights">Tensors by state_dict key.</param>
    /// <param name="source">Where the weights came from, for the error message.</param>
    public static void Load(nn.Module model, IReadOnlyDictionary<string, Tensor> weights, string source = "the state_dict")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(weights);
        var target = model.state_dict();
        var missing = target.Keys.Where(k => !weights.ContainsKey(k)).ToList();
        var unexpected = weights.Keys.Where(k => !target.ContainsKey(k)).ToList();
        var shapes = target.Where(kv => weights.TryGetValue(kv.Key, out var w) && !w.shape.SequenceEqual(kv.Value.shape))
            .Select(kv => $"{kv.Key}: file [{string.Join(", ", weights[kv.Key].shape)}] vs model [{string.Join(", ", kv.Value.shape)}]")
            .ToList();
        if (missing.Count + unexpected.Count + shapes.Count > 0)
            throw new WeightsMismatchException(source, missing, unexpected, shapes);

        // Copy into the model's own tensors: parameters stay the same objects and keep requires_grad
        // (PyBridge's load_py would copy the file's requires_grad=False onto them; torchsharp-notes §5, trap A).
        using var _ = no_grad();
        foreach (var (key, tensor) in target) tensor.copy_(weights[key]);
    }

    /// <summary>
    /// Reads a weights file into a state_dict of CPU tensors (the caller disposes them). The format is recognised
    /// from the content, not the extension.
    /// </summary>
    public static Dictionary<string, Tensor> Read(string path, CheckpointWeights which = CheckpointWeights.Auto)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Weights file '{path}' does not exist.", path);
        var head = new byte[4];
        int read;
        using (var probe = File.OpenRead(path)) read = probe.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (read == 0) throw new InvalidDataException($"Weights file '{path}' is empty.");
        if (read >= 4 && head[0] == (byte)'P' && head[1] == (byte)'K' && head[2] == 3 && head[3] == 4)
            return ReadPyTorch(path, which);
        if (head[0] == 0x80 && read >= 2 && head[1] <= 5)
            throw new InvalidDataException(
                $"'{path}' is in PyTorch's legacy (pre-1.6) format, which cannot be read here. Re-save it in PyTorch with torch.save(obj, path) (the zip format, default since PyTorch 1.6).");
        if (which == CheckpointWeights.Ema)
            throw new InvalidDataException($"'{path}' is a TorchSharp weights file; it holds one set of weights, not a checkpoint with EMA weights.");
        return ReadTorchSharp(path);
    }

    private static Dictionary<string, Tensor> ReadPyTorch(string path, CheckpointWeights which)
    {
        Hashtable root;
        try
        {
            root = PyTorchUnpickler.UnpickleStateDict(path);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidDataException($"'{path}' looks like a PyTorch file but could not be read ({e.GetType().Name}: {e.Message}). It may be truncated or corrupt; download or save it again.", e);
        }

        var tensors = root.Cast<DictionaryEntry>().ToList();
        IDictionary stateDict = root;
        string? entry = which switch
        {
            CheckpointWeights.Model => "state_dict",
            CheckpointWeights.Ema => "state_dict_ema",
            _ when root.ContainsKey("state_dict") => "state_dict",
            _ => root["model"] is IDictionary ? "model" : null, // the SSD trainers' checkpoints (CheckpointWeights.Auto)
        };
        if (entry is not null)
        {
            if (root[entry] is not IDictionary nested)
            {
                var present = string.Join(", ", root.Keys.Cast<object>().Select(k => k.ToString()));
                foreach (var t in tensors.Select(e => e.Value).OfType<Tensor>()) t.Dispose();
                throw new InvalidDataException($"'{path}' has no '{entry}' entry (it has: {present}).");
            }
            stateDict = nested;
        }

        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (DictionaryEntry kv in stateDict)
        {
            if (kv.Value is not Tensor t)
                throw new InvalidDataException($"'{path}': entry '{kv.Key}' is a {kv.Value?.GetType().Name ?? "null"}, not a tensor; pass a state_dict or a checkpoint holding one under 'state_dict'.");
            string key = kv.Key.ToString()!;
            result[key.StartsWith(DataParallelPrefix, StringComparison.Ordinal) ? key[DataParallelPrefix.Length..] : key] = t;
        }
        // Dispose what was read but not returned (the other weights set of a checkpoint); the pickle may share
        // one tensor object between both sets, so compare by reference.
        var kept = new HashSet<Tensor>(result.Values, ReferenceEqualityComparer.Instance);
        foreach (var other in root.Values.OfType<IDictionary>().Where(d => !ReferenceEquals(d, stateDict)))
            foreach (var t in other.Values.OfType<Tensor>().Where(t => !kept.Contains(t))) t.Dispose();
        return result;
    }

    /// <summary>TorchSharp's <c>Module.save</c> format: a LEB128 entry count, then (key string, tensor) pairs.</summary>
    private static Dictionary<string, Tensor> ReadTorchSharp(string path)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            using var reader = new BinaryReader(File.OpenRead(path));
            long count = ReadLeb128(reader);
            if (count <= 0 || count > 1_000_000) throw new InvalidDataException($"implausible entry count {count}");
            for (long i = 0; i < count; i++)
            {
                string key = reader.ReadString();
                result[key] = TensorExtensionMethods.Load(reader, skip: false);
            }
            if (reader.BaseStream.Position != reader.BaseStream.Length) throw new InvalidDataException("unexpected bytes after the last tensor");
            return result;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            foreach (var t in result.Values) t.Dispose();
            throw new InvalidDataException(
                $"'{path}' is neither a PyTorch weights file (torch.save zip format) nor a complete TorchSharp .dat file ({e.Message}). It may be truncated or of another kind.", e);
        }
    }

    // Hand-written: TorchSharp's own decoder for this count is internal.
    private static long ReadLeb128(BinaryReader reader)
    {
        long value = 0;
        for (int shift = 0; shift < 63; shift += 7)
        {
            byte b = reader.ReadByte();
            value |= (long)(b & 0x7f) << shift;
            if ((b & 0x80) == 0) return value;
        }
        throw new InvalidDataException("malformed entry count");
    }

    /// <summary>Saves the model's state_dict in PyTorch's format (<c>torch.load</c> reads it), atomically.</summary>
    public static void SavePyTorch(nn.Module model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        AtomicFile.Write(path, stream => model.save_py(stream, leaveOpen: true));
    }

    /// <summary>Saves the model's state_dict in TorchSharp's <c>.dat</c> format (<c>Module.load</c> reads it), atomically.</summary>
    public static void SaveTorchSharp(nn.Module model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        AtomicFile.Write(path, stream =>
        {
            // Module.save(Stream) closes the stream; the atomic writer still has to flush it.
            using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            model.save(writer);
        });
    }

    /// <summary>Saves in TorchSharp's format when the extension is <c>.dat</c>, else in PyTorch's.</summary>
    public static void Save(nn.Module model, string path)
    {
        if (string.Equals(Path.GetExtension(path), ".dat", StringComparison.OrdinalIgnoreCase)) SaveTorchSharp(model, path);
        else SavePyTorch(model, path);
    }
}
