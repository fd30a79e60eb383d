namespace MobileNeXt.Models;

/// <summary>A row of the paper's Table 3: what the authors report for a network.</summary>
/// <param name="ParamsMillions">Parameters, millions.</param>
/// <param name="MAddsMillions">Multiply-adds, millions.</param>
/// <param name="Top1">ImageNet top-1 accuracy, %.</param>
/// <param name="Source">Where the numbers are printed.</param>
public sealed record PaperResult(double ParamsMillions, double MAddsMillions, double Top1, string Source);

/// <summary>
/// What a registry entry is: its name, family, width, the figures this library measures for it at 224² with 1000
/// classes (<see cref="Params"/>, <see cref="Macs"/>, computed by the profiler on first use) and what the paper reports.
/// </summary>
public sealed class ModelCard
{
    private readonly Lazy<(long Params, long Macs)> measured;

    internal ModelCard(string name, string family, double width, string description, PaperResult? paper, string source, Func<ImageClassifier> build)
    {
        Name = name;
        Family = family;
        Width = width;
        Description = description;
        Paper = paper;
        Source = source;
        measured = new Lazy<(long, long)>(() =>
        {
            using var model = build();
            var report = Profiling.ModelProfiler.Profile(model);
            return (report.TotalParams, report.TotalMacs);
        });
    }

    /// <summary>Registry name, e.g. <c>mobilenext_100</c>.</summary>
    public string Name { get; }

    /// <summary>
    /// <c>MobileNeXt</c>, <c>MobileNeXt (uniform)</c>, <c>MobileNetV2</c>, <c>MobileNetV2 + dw</c>, <c>MobileNeXt†</c>,
    /// <c>MobileNeXt Fig. 4(a)</c> … <c>(c)</c> or <c>MobileNeXt ablation</c>.
    /// </summary>
    public string Family { get; }

    /// <summary>Width multiplier.</summary>
    public double Width { get; }

    /// <summary>One line on what the model is.</summary>
    public string Description { get; }

    /// <summary>The paper's figures for this network, when it reports them.</summary>
    public PaperResult? Paper { get; }

    /// <summary>Where the architecture comes from.</summary>
    public string Source { get; }

    /// <summary>Parameters with 1000 classes, as built here.</summary>
    public long Params => measured.Value.Params;

    /// <summary>Conv + linear multiply-accumulates for one 224² image, as built here.</summary>
    public long Macs => measured.Value.Macs;
}
