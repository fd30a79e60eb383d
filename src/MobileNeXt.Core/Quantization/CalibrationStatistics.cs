using System.Text.Json;
using System.Text.Json.Serialization;
using MobileNeXt.Interop;

namespace MobileNeXt.Quantization;

/// <summary>How the range of an activation is chosen from its calibration statistics.</summary>
public enum CalibrationMethod
{
    /// <summary>The observed minimum and maximum (ONNX Runtime's default, MinMax).</summary>
    MinMax,

    /// <summary>The <see cref="Int8Options.Percentile"/>-th and (100 − it)-th percentiles of the values: clips rare outliers.</summary>
    Percentile,

    /// <summary>
    /// The clipping threshold whose quantized distribution has the least KL divergence from the observed one — the
    /// calibration of TensorRT's 8-bit inference (Migacz, GTC 2017), the method the paper's Table 4 cites [28].
    /// </summary>
    Entropy,
}

/// <summary>What calibration observed of one value of the graph: its extremes and a histogram.</summary>
/// <param name="Min">Smallest value seen.</param>
/// <param name="Max">Largest value seen.</param>
/// <param name="Limit">The histogram covers [−Limit, Limit] (Limit = max(|Min|, |Max|)).</param>
/// <param name="Histogram"><see cref="CalibrationStatistics.Bins"/> counts over [−Limit, Limit], empty when only min/max were collected.</param>
public sealed record TensorStatistics(float Min, float Max, float Limit, long[] Histogram);

/// <summary>
/// Calibration statistics of every value of a model's FP32 graph that gets a quantizer (by the ONNX value name),
/// as collected by <see cref="Int8Calibrator"/>; saved as JSON beside the quantized model so other methods can be
/// tried without running the images again.
/// </summary>
public sealed class CalibrationStatistics
{
    /// <summary>Histogram bins over [−Limit, Limit]: 2048 per sign, the resolution of ONNX Runtime's percentile calibrator.</summary>
    public const int Bins = 4096;

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    /// <summary>The network's module name (e.g. MobileNeXtNet).</summary>
    public required string Model { get; init; }

    /// <summary>
    /// A fingerprint of the FP32 graph calibrated (operators, value names and weight shapes): statistics apply only to a
    /// network with the same one, whatever its weights.
    /// </summary>
    public string Signature { get; init; } = "";

    /// <summary>Images run through the model.</summary>
    public required int Images { get; init; }

    /// <summary>Input height of the calibration images; the quantized model takes this size.</summary>
    public required int Height { get; init; }

    /// <summary>Input width of the calibration images.</summary>
    public required int Width { get; init; }

    /// <summary>Statistics by ONNX value name.</summary>
    public required IReadOnlyDictionary<string, TensorStatistics> Tensors { get; init; }

    /// <summary>Whether histograms were collected (needed by <see cref="CalibrationMethod.Percentile"/> and <see cref="CalibrationMethod.Entropy"/>).</summary>
    [JsonIgnore]
    public bool HasHistograms => Tensors.Values.All(t => t.Histogram.Length == Bins);

    /// <summary>Writes the statistics as JSON, atomically.</summary>
    public void Save(string path) => AtomicFile.Write(path, stream => JsonSerializer.Serialize(stream, this, Json));

    /// <summary>Reads statistics written by <see cref="Save"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not calibration statistics.</exception>
    public static CalibrationStatistics Load(string path)
    {
        using var stream = File.OpenRead(path);
        try
        {
            return JsonSerializer.Deserialize<CalibrationStatistics>(stream, Json)
                ?? throw new InvalidDataException($"'{path}' holds no calibration statistics.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not a calibration statistics file: {e.Message}", e);
        }
    }

    /// <summary>The range [lo, hi] chosen for <paramref name="name"/> by <paramref name="method"/> (always containing 0, as the quantizer needs).</summary>
    public (float Lo, float Hi) Range(string name, CalibrationMethod method, double percentile = 99.999)
    {
        if (!Tensors.TryGetValue(name, out var s))
            throw new KeyNotFoundException($"The calibration statistics have no entry for '{name}'; calibrate this model again.");
        (float lo, float hi) = method switch
        {
            CalibrationMethod.MinMax => (s.Min, s.Max),
            CalibrationMethod.Percentile => CalibrationRanges.Percentile(s, percentile),
            CalibrationMethod.Entropy => CalibrationRanges.Entropy(s),
            _ => throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown calibration method."),
        };
        return (Math.Min(lo, 0), Math.Max(hi, 0));
    }
}
