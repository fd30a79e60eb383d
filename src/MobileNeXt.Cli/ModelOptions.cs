using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using MobileNeXt.Models;

namespace MobileNeXt.Cli;

/// <summary>
/// The model (an argument, or with <c>modelAsOption</c> a required <c>--model</c> option for verbs whose arguments are
/// files) and the options that shape it, shared by the verbs that build a model.
/// </summary>
internal sealed class ModelOptions(bool modelAsOption = false)
{
    private const string ModelHelp = "Registry name, e.g. mobilenext_100, mobilenext_uniform_050, mobilenetv2_140 (see 'mobilenext models').";

    public Argument<string> Model { get; } = new("model") { Description = ModelHelp };

    public Option<string> ModelOption { get; } = new("--model", "-m") { Description = ModelHelp, Required = true, HelpName = "name" };

    public string ModelName(ParseResult result) => (modelAsOption ? result.GetValue(ModelOption) : result.GetValue(Model))!;

    public Option<double?> Width { get; } = new("--width")
    {
        Description = "Width multiplier overriding the registry's (any positive number).",
        HelpName = "w",
        CustomParser = r => ParseNumber(r),
    };

    public Option<double> IdentityMultiplier { get; } = new("--identity-multiplier", "-a")
    {
        Description = "Identity tensor multiplier α in [0, 1] (Sec. 3.3); a fraction such as 1/2 is accepted. MobileNeXt only.",
        HelpName = "alpha",
        DefaultValueFactory = _ => 1.0,
        CustomParser = r => ParseNumber(r) ?? 1.0,
    };

    public Option<int> InputSize { get; } = new("--input-size")
    {
        Description = $"Input side in pixels (at least {ImageClassifier.MinInputSize}).",
        HelpName = "n",
        DefaultValueFactory = _ => 224,
    };

    public Option<int> Classes { get; } = new("--classes")
    {
        Description = "Number of classes of the classifier (0 = none).",
        HelpName = "k",
        DefaultValueFactory = _ => 1000,
    };

    public void AddTo(Command command)
    {
        if (modelAsOption) command.Add(ModelOption);
        else command.Add(Model);
        command.Add(Width);
        command.Add(IdentityMultiplier);
        command.Add(InputSize);
        command.Add(Classes);
    }

    /// <summary>The registry model, or with <c>--width</c> the same family built at that width.</summary>
    /// <param name="result">The parsed command line.</param>
    /// <param name="numClasses">The class count when the weights, not <c>--classes</c>, decide it; null uses <c>--classes</c>.</param>
    public ImageClassifier Build(ParseResult result, int? numClasses = null)
    {
        string name = ModelName(result);
        var create = new ModelCreateOptions
        {
            NumClasses = numClasses ?? result.GetValue(Classes),
            IdentityMultiplier = result.GetValue(IdentityMultiplier),
        };
        return ModelRegistry.Create(name, create with { Width = result.GetValue(Width) });
    }

    /// <summary>A label for the built network, e.g. <c>mobilenext_100 (width 0.8, α 0.5)</c>.</summary>
    /// <param name="result">The parsed command line.</param>
    /// <param name="input">The input's description when it is not the square <c>--input-size</c> (e.g. <c>240×320</c>).</param>
    public string Describe(ParseResult result, string? input = null)
    {
        var parts = new List<string>();
        if (result.GetValue(Width) is { } w) parts.Add($"width {Format.Number(w)}");
        double alpha = result.GetValue(IdentityMultiplier);
        if (alpha != 1.0) parts.Add($"α {Format.Number(alpha)}");
        int classes = result.GetValue(Classes);
        if (classes != 1000) parts.Add($"{classes} classes");
        parts.Add($"{input ?? $"{result.GetValue(InputSize)}²"} input");
        return $"{ModelName(result)} ({string.Join(", ", parts)})";
    }

    /// <summary>A decimal number or a fraction <c>p/q</c>.</summary>
    private static double? ParseNumber(ArgumentResult result)
    {
        string token = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        const NumberStyles style = NumberStyles.Float;
        var inv = CultureInfo.InvariantCulture;
        int slash = token.IndexOf('/');
        if (slash < 0 && double.TryParse(token, style, inv, out double value)) return value;
        if (slash > 0 && double.TryParse(token[..slash], style, inv, out double p) && double.TryParse(token[(slash + 1)..], style, inv, out double q) && q != 0)
            return p / q;
        result.AddError($"Cannot parse '{token}' as a number for {((OptionResult)result.Parent!).Option.Name}; use e.g. 0.5 or 1/2.");
        return null;
    }
}
