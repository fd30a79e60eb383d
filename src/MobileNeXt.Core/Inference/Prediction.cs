namespace MobileNeXt.Inference;

/// <summary>One of the top-k classes for an image.</summary>
/// <param name="ClassIndex">Index into the classifier's outputs.</param>
/// <param name="Label">The class name when labels were given, else null.</param>
/// <param name="Probability">Softmax probability, in [0, 1].</param>
public sealed record Prediction(int ClassIndex, string? Label, float Probability)
{
    /// <inheritdoc />
    public override string ToString() => $"{Label ?? ClassIndex.ToString(System.Globalization.CultureInfo.InvariantCulture)} {Probability:P1}";
}
