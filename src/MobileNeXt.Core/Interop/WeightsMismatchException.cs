namespace MobileNeXt.Interop;

/// <summary>
/// A weights file does not fit the model: keys the model needs are missing, the file has keys the model does not,
/// or a tensor's shape differs. The message lists them; nothing was copied into the model.
/// </summary>
public sealed class WeightsMismatchException : IOException
{
    /// <summary>Creates the exception from the three lists.</summary>
    public WeightsMismatchException(string source, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> shapeMismatches)
        : base(Describe(source, missing, unexpected, shapeMismatches))
    {
        Missing = missing;
        Unexpected = unexpected;
        ShapeMismatches = shapeMismatches;
    }

    /// <summary>Keys the model has and the file lacks.</summary>
    public IReadOnlyList<string> Missing { get; }

    /// <summary>Keys the file has and the model lacks.</summary>
    public IReadOnlyList<string> Unexpected { get; }

    /// <summary>Keys present in both with different shapes, as <c>key: file [..] vs model [..]</c>.</summary>
    public IReadOnlyList<string> ShapeMismatches { get; }

    private static string Describe(string source, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> shapes)
    {
        const int Shown = 8;
        static string List(string title, IReadOnlyList<string> items) => items.Count == 0 ? "" :
            $"\n  {title} ({items.Count}): " + string.Join(", ", items.Take(Shown)) + (items.Count > Shown ? $", … and {items.Count - Shown} more" : "");
        return $"The weights in '{source}' do not fit this model; nothing was loaded." +
               List("missing from the file", missing) +
               List("unexpected in the file", unexpected) +
               List("different shape", shapes) +
               "\n  Check that the model's name, width, class count and variant match the ones the weights were saved from.";
    }
}
