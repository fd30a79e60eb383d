using MobileNeXt.Interop;
using MobileNeXt.Models;
using static TorchSharp.torch;

namespace MobileNeXt.Training.Checkpoints;

/// <summary>What <see cref="InitialWeights.Load"/> did.</summary>
/// <param name="Source">The file the weights came from.</param>
/// <param name="LoadedTensors">state_dict entries copied from the file.</param>
/// <param name="FileClasses">Classes of the file's classifier (0 when it has none).</param>
/// <param name="ModelClasses">Classes of the model's classifier.</param>
/// <param name="OtherClassNames">Whether the file is a training checkpoint whose classes have other names than the data's.</param>
public sealed record InitialWeightsReport(string Source, int LoadedTensors, int FileClasses, int ModelClasses, bool OtherClassNames = false)
{
    /// <summary>
    /// Whether the model kept its own, freshly initialised classifier: the file's predicts another number of classes, or
    /// (a training checkpoint, which names its classes) as many classes under other names.
    /// </summary>
    public bool ReplacedClassifier => FileClasses != ModelClasses || OtherClassNames;

    /// <summary>One line for the console.</summary>
    public override string ToString() => ReplacedClassifier
        ? $"Initialised from '{Source}': {LoadedTensors} tensors; the classifier was replaced ({FileClasses} classes in the file, {ModelClasses} " +
          $"{(OtherClassNames && FileClasses == ModelClasses ? "other ones " : "")}in the data; the new one starts from a fresh initialisation)."
        : $"Initialised from '{Source}': all {LoadedTensors} tensors, classifier included ({ModelClasses} classes).";
}

/// <summary>
/// Loads pretrained weights into a model for fine-tuning, timm's <c>load_pretrained</c> rule: every backbone tensor must
/// match (else the file's mismatches are reported by <see cref="WeightsMismatchException"/> and nothing is copied); the
/// classifier is taken from the file when it predicts as many classes as the model (and, when both sides name their
/// classes, the same ones), and otherwise left as the model initialised it.
/// </summary>
public static class InitialWeights
{
    /// <summary>Loads <paramref name="path"/> (any format <see cref="ModelWeights.Read"/> reads; a checkpoint's model weights, not its EMA) into <paramref name="model"/>.</summary>
    /// <param name="model">The model to fill.</param>
    /// <param name="path">The weights file.</param>
    /// <param name="classes">The names of the classes the model will learn, in label order; when given and the file is a
    /// training checkpoint naming other classes, its classifier is not used even if the counts agree. Default null.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a weights file.</exception>
    /// <exception cref="WeightsMismatchException">The backbone is of another architecture, width or variant.</exception>
    public static InitialWeightsReport Load(ImageClassifier model, string path, IReadOnlyList<string>? classes = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var file = ModelWeights.Read(path);
        bool otherNames = classes is not null && TrainingCheckpoint.ReadClasses(path) is { } named && !named.SequenceEqual(classes, StringComparer.Ordinal);
        var kept = new List<Tensor>();
        try
        {
            var target = model.state_dict();
            var head = HeadKeys(model);
            string? linearWeight = head.FirstOrDefault(k => k.EndsWith(".weight", StringComparison.Ordinal));
            int fileClasses = linearWeight is not null && file.TryGetValue(linearWeight, out var w) && w.dim() == 2 ? (int)w.shape[0] : 0;
            bool sameHead = !otherNames && head.All(k => file.TryGetValue(k, out var t) && t.shape.SequenceEqual(target[k].shape));
            var merged = new Dictionary<string, Tensor>(file, StringComparer.Ordinal);
            if (!sameHead)
            {
                // The file's classifier (if any) is dropped and the model's own stands in for it, so the check below
                // judges the backbone alone.
                foreach (var k in file.Keys.Where(k => head.Contains(k))) merged.Remove(k);
                foreach (var k in head)
                {
                    var own = target[k].detach().clone();
                    kept.Add(own);
                    merged[k] = own;
                }
            }
            ModelWeights.Load(model, merged, path);
            return new InitialWeightsReport(path, sameHead ? target.Count : target.Count - head.Count, sameHead ? model.NumClasses : fileClasses, model.NumClasses, otherNames);
        }
        finally
        {
            foreach (var t in file.Values) t.Dispose();
            foreach (var t in kept) t.Dispose();
        }
    }

    /// <summary>The state_dict keys of the classifier (the head's linear layer), found by identity, so both key layouts are covered.</summary>
    public static IReadOnlySet<string> HeadKeys(ImageClassifier model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var head = new HashSet<IntPtr>(model.Classifier.state_dict().Values.Select(t => t.Handle));
        return model.state_dict().Where(kv => head.Contains(kv.Value.Handle)).Select(kv => kv.Key).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The model's parameters outside the classifier: what <see cref="Recipes.TrainingOptions.FreezeFeatures"/> freezes.</summary>
    public static IReadOnlyList<TorchSharp.Modules.Parameter> BackboneParameters(ImageClassifier model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var head = HeadKeys(model);
        return [.. model.named_parameters().Where(x => !head.Contains(x.name)).Select(x => x.parameter)];
    }
}
