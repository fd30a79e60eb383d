using System.CommandLine;
using System.Text.RegularExpressions;

namespace MobileNeXt.Cli;

/// <summary>The one sentence an exception says to the user, without .NET's parameter decorations.</summary>
internal static class ErrorText
{
    /// <summary>
    /// <paramref name="e"/>'s message without the " (Parameter 'x')" that ArgumentException appends and the second line
    /// "Actual value was …" of ArgumentOutOfRangeException: the library's messages already name the value.
    /// </summary>
    public static string Of(Exception e)
    {
        string message = e.Message;
        if (e is ArgumentOutOfRangeException)
        {
            int newline = message.IndexOf('\n');
            if (newline >= 0) message = message[..newline].TrimEnd('\r');
        }
        if (e is ArgumentException { ParamName: { } name })
        {
            string suffix = $" (Parameter '{name}')";
            if (message.EndsWith(suffix, StringComparison.Ordinal)) message = message[..^suffix.Length];
        }
        return message;
    }

    // Options whose flag is not the property's name in kebab case.
    private static readonly Dictionary<string, string> Renamed = new()
    {
        ["NumClasses"] = "--classes",
        ["CalibrationImages"] = "--images",
        ["LearningRate"] = "--lr",
        ["EmaDecay"] = "--ema",
        ["ClipGradNorm"] = "--clip-grad",
    };

    /// <summary>
    /// <see cref="Of"/>, with the library's property name at the start of the sentence ("BatchSize must be positive")
    /// replaced by the flag of <paramref name="command"/> that sets it ("--batch-size must be positive"): the user typed flags.
    /// </summary>
    public static string Of(Exception e, Command command)
    {
        string message = Of(e);
        if (e is not ArgumentException { ParamName: { Length: > 0 } name } || !message.StartsWith(name + " ", StringComparison.Ordinal)) return message;
        string kebab = "--" + Regex.Replace(name, "(?<!^)([A-Z])", "-$1").ToLowerInvariant();
        string? flag = command.Options.Select(o => o.Name).FirstOrDefault(n => n == kebab || n == Renamed.GetValueOrDefault(name));
        return flag is null ? message : flag + message[name.Length..];
    }
}
