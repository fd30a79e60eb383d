namespace MobileNeXt.Training;

/// <summary>The loss became NaN or infinite; the run stopped without writing a checkpoint, so the last good one is kept.</summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception with a message saying when and what.</summary>
    public TrainingDivergedException(string message, int epoch, long step, double loss) : base(message)
    {
        Epoch = epoch;
        Step = step;
        Loss = loss;
    }

    /// <summary>Epoch in progress (from 1).</summary>
    public int Epoch { get; }

    /// <summary>Global step (from 0) whose loss was not finite.</summary>
    public long Step { get; }

    /// <summary>The loss value (NaN or ±∞).</summary>
    public double Loss { get; }
}
