using MobileNeXt.Training.Reporting;
using TorchSharp;

namespace MobileNeXt.Training.Tests.Training;

/// <summary>Records what a run reports, and can act after a step or an epoch (e.g. cancel it there).</summary>
internal sealed class Recorder : ITrainingProgress
{
    public List<StepReport> Steps { get; } = [];
    public List<long> LiveTensors { get; } = [];
    public List<string> Messages { get; } = [];
    public Action<StepReport>? AfterStep { get; init; }
    public Action<EpochMetrics>? AfterEpoch { get; init; }

    public void OnStep(StepReport report)
    {
        Steps.Add(report);
        LiveTensors.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        AfterStep?.Invoke(report);
    }

    public void OnEpoch(EpochMetrics metrics) => AfterEpoch?.Invoke(metrics);

    public void OnMessage(string message) => Messages.Add(message);
}

internal static class TrainingAssertions
{
    /// <summary>Same keys, and every tensor bit-identical.</summary>
    public static void ShouldBeIdentical(torch.nn.Module a, torch.nn.Module b)
    {
        var sa = a.state_dict();
        var sb = b.state_dict();
        sa.Keys.Should().Equal(sb.Keys);
        foreach (var (key, ta) in sa)
            ta.eq(sb[key]).all().item<bool>().Should().BeTrue($"'{key}' must be bit-identical after resuming");
    }
}
