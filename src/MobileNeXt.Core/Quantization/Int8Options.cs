namespace MobileNeXt.Quantization;

/// <summary>
/// How <see cref="Int8Exporter"/> quantizes. The defaults are the kernels ONNX Runtime runs fused on x64 and ARM:
/// asymmetric uint8 activations, symmetric per-channel int8 weights with zero point 0, int32 biases.
/// </summary>
public sealed record Int8Options
{
    /// <summary>How activation ranges are chosen from the statistics (default MinMax).</summary>
    public CalibrationMethod Method { get; init; } = CalibrationMethod.MinMax;

    /// <summary>The percentile kept by <see cref="CalibrationMethod.Percentile"/> (ONNX Runtime's default 99.999).</summary>
    public double Percentile { get; init; } = 99.999;

    /// <summary>
    /// One weight scale per output channel (default). Off: one scale per tensor — kept for the ablation; BatchNorm
    /// folding spreads channel ranges, and per-tensor weights cost MobileNets most of their accuracy
    /// (Krishnamoorthi, arXiv 1806.08342, Table 3).
    /// </summary>
    public bool PerChannel { get; init; } = true;

    /// <summary>
    /// 7-bit weights ([−64, 64]), for x64 CPUs without VNNI, whose u8×s8 kernels add pairs into a saturating int16
    /// (ONNX Runtime's <c>reduce_range</c>). Off by default.
    /// </summary>
    public bool ReduceRange { get; init; }

    /// <summary>
    /// Give a Concat's inputs and output one scale and zero point (the partial identity shortcut of Eq. 4: the block
    /// output, its slices, the Add and the Concat), so ONNX Runtime's Concat copies bytes and its Slices need no
    /// requantization. Off: every value calibrated on its own.
    /// </summary>
    public bool ShareConcatScale { get; init; } = true;

    /// <summary>Images calibrated on, for the callers that choose them (the command line's default is 512).</summary>
    public int CalibrationImages { get; init; } = 512;

    /// <summary>Checks the values; throws <see cref="ArgumentOutOfRangeException"/> naming the first bad one.</summary>
    public void Validate()
    {
        if (Percentile is <= 50 or > 100) throw new ArgumentOutOfRangeException(nameof(Percentile), Percentile, "Percentile must be in (50, 100], e.g. 99.999.");
        if (CalibrationImages < 1) throw new ArgumentOutOfRangeException(nameof(CalibrationImages), CalibrationImages, "CalibrationImages must be at least 1.");
    }
}
