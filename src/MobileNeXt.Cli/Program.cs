using System.CommandLine;
using System.Reflection;
using MobileNeXt;
using MobileNeXt.Cli;
using Spectre.Console;

// Every verb runs models: serve libtorch's memory with tcmalloc where it is installed (this restarts the process in
// place, before anything else happens), else let glibc reuse freed memory rather than fault fresh pages in for every
// large tensor. MOBILENEXT_ALLOCATOR=glibc keeps glibc's malloc.
try
{
    TorchRuntime.UseTcmalloc();
}
catch (InvalidOperationException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
TorchRuntime.RetainFreedMemory();

// Without a terminal (CI, pipes) Spectre.Console falls back to 80 columns, which squeezes the wide tables into
// wrapped cells; give redirected output a fixed, generous width instead.
if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 160;

var root = new RootCommand("List, summarise and profile MobileNeXt models, and compare them with the paper's tables.")
{
    ModelsCommand.Create(),
    SummaryCommand.Create(),
    ProfileCommand.Create(),
    PaperCommand.Create(),
    PredictCommand.Create(),
    DoctorCommand.Create(),
    ExportCommand.Create(),
    TrainCommand.Create(),
    EvalCommand.Create(),
    QuantizeCommand.Create(),
    DetectCommand.Create(),
    CompareCommand.Create(),
    SearchCommand.Create(),
};

var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    var command = parsed.CommandResult.Command;
    string help = $"Run 'mobilenext{(command == root ? "" : " " + command.Name)} --help' for usage.";
    // One line per error: System.CommandLine lists accepted values on tab-indented lines of their own.
    for (int i = 0; i < parsed.Errors.Count; i++)
        Console.Error.WriteLine($"error: {string.Join(" ", parsed.Errors[i].Message.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))}" +
                                (i == parsed.Errors.Count - 1 ? " " + help : ""));
    return 2;
}

try
{
    return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (Exception e) when (InputErrors.Find(e) is { } known) // bad input: one sentence; anything else is a bug and keeps its trace
{
    Console.Out.Flush();
    Console.Error.WriteLine($"error: {ErrorText.Of(known, parsed.CommandResult.Command)}");
    return 1;
}

