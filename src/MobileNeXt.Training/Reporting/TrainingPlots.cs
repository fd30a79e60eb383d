using MobileNeXt.Training.Optimization;
using ScottPlot;

namespace MobileNeXt.Training.Reporting;

/// <summary>PNG plots of a run next to its checkpoints: <c>loss.png</c>, <c>accuracy.png</c> (top-1/top-5, or the task's named metrics such as mAP@0.5; EMA too) and <c>lr.png</c> (the whole schedule, with the epochs done marked).</summary>
public static class TrainingPlots
{
    /// <summary>Writes the three plots into <paramref name="directory"/> from the metrics so far.</summary>
    public static void Write(string directory, IReadOnlyList<EpochMetrics> metrics, LearningRateSchedule schedule)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(schedule);
        double[] epochs = [.. metrics.Select(m => (double)m.Epoch)];

        var loss = new Plot();
        loss.Add.Scatter(epochs, metrics.Select(m => m.TrainLoss).ToArray()).LegendText = "training loss";
        Finish(loss, "Training loss", "loss", Path.Combine(directory, "loss.png"));

        var accuracy = new Plot();
        if (metrics.Count > 0 && metrics[0].MetricName is not null)
        {
            // A task with named metrics (detection: mAP@0.5 first): one line per metric, the EMA's beside them.
            foreach (var name in metrics[0].Metrics!.Keys)
            {
                accuracy.Add.Scatter(epochs, metrics.Select(m => m.Metrics!.GetValueOrDefault(name, double.NaN)).ToArray()).LegendText = name;
                if (metrics.Any(m => m.EmaMetrics is not null))
                    accuracy.Add.Scatter(epochs, metrics.Select(m => m.EmaMetrics?.GetValueOrDefault(name, double.NaN) ?? double.NaN).ToArray()).LegendText = "EMA " + name;
            }
            Finish(accuracy, "Validation " + metrics[0].MetricName, "%", Path.Combine(directory, "accuracy.png"));
        }
        else
        {
            accuracy.Add.Scatter(epochs, metrics.Select(m => m.Top1).ToArray()).LegendText = "top-1";
            accuracy.Add.Scatter(epochs, metrics.Select(m => m.Top5).ToArray()).LegendText = "top-5";
            if (metrics.Any(m => m.EmaTop1 is not null))
            {
                accuracy.Add.Scatter(epochs, metrics.Select(m => m.EmaTop1 ?? double.NaN).ToArray()).LegendText = "EMA top-1";
                accuracy.Add.Scatter(epochs, metrics.Select(m => m.EmaTop5 ?? double.NaN).ToArray()).LegendText = "EMA top-5";
            }
            Finish(accuracy, "Validation accuracy", "accuracy (%)", Path.Combine(directory, "accuracy.png"));
        }

        var lr = new Plot();
        int points = (int)Math.Min(1000, schedule.TotalSteps);
        var steps = Enumerable.Range(0, points).Select(i => (long)((double)i * (schedule.TotalSteps - 1) / Math.Max(1, points - 1))).ToArray();
        lr.Add.Scatter(steps.Select(s => (double)s / schedule.StepsPerEpoch).ToArray(), steps.Select(schedule.At).ToArray()).LegendText = "schedule";
        if (epochs.Length > 0)
        {
            var done = lr.Add.Scatter(epochs, metrics.Select(m => m.LearningRate).ToArray());
            done.LegendText = "epochs done";
            done.LineWidth = 0;
            done.MarkerSize = 6;
        }
        Finish(lr, "Learning rate", "learning rate", Path.Combine(directory, "lr.png"));
    }

    private static void Finish(Plot plot, string title, string yLabel, string path)
    {
        plot.Title(title);
        plot.XLabel("epoch");
        plot.YLabel(yLabel);
        plot.ShowLegend();
        // Render to a temporary file and rename, so a viewer never opens a half-written PNG.
        string temporary = path + ".tmp.png";
        plot.SavePng(temporary, 800, 500);
        File.Move(temporary, path, overwrite: true);
    }
}
