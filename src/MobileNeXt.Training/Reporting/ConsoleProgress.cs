using System.Globalization;
using Spectre.Console;

namespace MobileNeXt.Training.Reporting;

/// <summary>
/// The console view of a run. With a terminal attached: a Spectre.Console live progress bar per epoch whose label
/// shows epoch, step, loss, learning rate, img/s and ETA. Without one (output redirected, or <c>CI=true</c>): one
/// plain line every <c>logEvery</c> steps and one per epoch, so logs stay readable.
/// </summary>
public static class ConsoleProgress
{
    /// <summary>Whether the live display will be used: output goes to a terminal and <c>CI</c> is not set.</summary>
    public static bool IsInteractive =>
        !Console.IsOutputRedirected && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"))
        && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Runs <paramref name="body"/> with a console progress view, live or plain as <see cref="IsInteractive"/> says.</summary>
    public static T Run<T>(int logEvery, Func<ITrainingProgress, T> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (!IsInteractive) return body(new PlainProgress(Console.Out, logEvery));
        return AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn())
            .Start(ctx => body(new LiveProgress(ctx)));
    }

    internal static string Describe(StepReport r) => string.Create(CultureInfo.InvariantCulture,
        $"epoch {r.Epoch + 1}/{r.Epochs}  step {r.StepInEpoch}/{r.StepsPerEpoch}  loss {r.Loss:0.0000}  lr {r.LearningRate:0.#####}  {r.ImagesPerSecond:0} img/s  ETA {FormatSpan(r.Eta)}");

    internal static string Describe(EpochMetrics m) =>
        FormattableString.Invariant($"epoch {m.Epoch} done: loss {m.TrainLoss:0.0000}  ") + DescribeEvaluation(m) +
        FormattableString.Invariant($"  {m.ImagesPerSecond:0} img/s  {m.Seconds:0} s  {m.MemoryMiB:0} MiB");

    // Classification: top-1 and top-5 (and the EMA's); another task: its metrics by name, the primary one first.
    private static string DescribeEvaluation(EpochMetrics m)
    {
        if (m.MetricName is null || m.Metrics is null)
            return FormattableString.Invariant($"top-1 {m.Top1:0.00} %  top-5 {m.Top5:0.00} %") +
                   (m.EmaTop1 is { } e1 ? FormattableString.Invariant($"  EMA top-1 {e1:0.00} %  top-5 {m.EmaTop5:0.00} %") : "");
        static string Named(IReadOnlyDictionary<string, double> all, string primary, string prefix) => string.Join("  ",
            all.OrderBy(kv => kv.Key == primary ? 0 : 1).Select(kv => FormattableString.Invariant($"{prefix}{kv.Key} {kv.Value:0.00}")));
        return Named(m.Metrics, m.MetricName, "") + (m.EmaMetrics is { } ema ? "  " + Named(ema, m.MetricName, "EMA ") : "");
    }

    private static string FormatSpan(TimeSpan t) =>
        t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}" : $"{t.Minutes}:{t.Seconds:00}";

    private sealed class PlainProgress(TextWriter output, int logEvery) : ITrainingProgress
    {
        public void OnStep(StepReport report)
        {
            if (report.StepInEpoch % logEvery == 0 || report.StepInEpoch == report.StepsPerEpoch)
                output.WriteLine(Describe(report));
        }

        public void OnEpoch(EpochMetrics metrics) => output.WriteLine(Describe(metrics));

        public void OnMessage(string message) => output.WriteLine(message);
    }

    private sealed class LiveProgress(ProgressContext context) : ITrainingProgress
    {
        private ProgressTask? _task;
        private int _epoch = -1;

        public void OnStep(StepReport report)
        {
            if (report.Epoch != _epoch || _task is null)
            {
                _epoch = report.Epoch;
                _task = context.AddTask("", maxValue: report.StepsPerEpoch);
            }
            _task.Description = Markup.Escape(Describe(report));
            _task.Value = report.StepInEpoch;
            context.Refresh();
        }

        public void OnEpoch(EpochMetrics metrics)
        {
            if (_task is not null) _task.Description = Markup.Escape(Describe(metrics));
            context.Refresh();
        }

        public void OnMessage(string message) => AnsiConsole.MarkupLine(Markup.Escape(message));
    }
}
