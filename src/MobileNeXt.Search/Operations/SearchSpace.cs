namespace MobileNeXt.Search.Operations;

/// <summary>
/// A set of candidate operations for every edge of a cell: DARTS's eight, optionally with one block operator added
/// (MobileNeXt supplementary Sec. B: "the original DARTS search space, plus one operator").
/// </summary>
/// <param name="Name">The name the CLI and reports use (<c>darts</c>, <c>darts+sandglass</c>, <c>darts+ir</c>).</param>
/// <param name="Operations">The operation names, in α's column order; must hold <see cref="Primitives.None"/>.</param>
public sealed record SearchSpace(string Name, IReadOnlyList<string> Operations)
{
    /// <summary>DARTS's space (Liu et al. 2018, Sec. 3.1; <c>PRIMITIVES</c>).</summary>
    public static SearchSpace Darts { get; } = new("darts", Primitives.Darts);

    /// <summary>DARTS's space plus the sandglass block (Table 9, "DARTS + sandglass").</summary>
    public static SearchSpace DartsSandglass { get; } = new("darts+sandglass", [.. Primitives.Darts, Primitives.Sandglass3x3]);

    /// <summary>DARTS's space plus the inverted residual block (Table 9, "DARTS + inverted residual").</summary>
    public static SearchSpace DartsInvertedResidual { get; } = new("darts+ir", [.. Primitives.Darts, Primitives.InvertedResidual3x3]);

    /// <summary>The three spaces of Table 9.</summary>
    public static IReadOnlyList<SearchSpace> All { get; } = [Darts, DartsSandglass, DartsInvertedResidual];

    /// <summary>The space called <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No space has that name; the message lists the names.</exception>
    public static SearchSpace FromName(string name) =>
        All.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"Unknown search space '{name}'; use one of {string.Join(", ", All.Select(s => s.Name))}.", nameof(name));

    /// <summary>Column of <see cref="Primitives.None"/> in α, which genotype derivation skips.</summary>
    public int NoneIndex => Operations.ToList().IndexOf(Primitives.None);

    /// <summary>Checks every name is a known operation, none repeats and <c>none</c> is there.</summary>
    /// <exception cref="ArgumentException">What is wrong, and what the known names are.</exception>
    public void Validate()
    {
        if (Operations.Count == 0) throw new ArgumentException($"Search space '{Name}' has no operations.");
        foreach (var op in Operations)
            if (!SearchOperations.Known.Contains(op))
                throw new ArgumentException($"Search space '{Name}': unknown operation '{op}'; known are {string.Join(", ", SearchOperations.Known)}.");
        if (Operations.Distinct().Count() != Operations.Count) throw new ArgumentException($"Search space '{Name}' lists an operation twice.");
        if (NoneIndex < 0) throw new ArgumentException($"Search space '{Name}' must hold '{Primitives.None}': genotype derivation ranks edges by their strongest other operation.");
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
