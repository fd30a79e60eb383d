using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Detection;

/// <summary>The released code's <c>box_head</c>: it holds the predictor (post-processing is <see cref="Boxes.SsdPostProcessor"/>).</summary>
public sealed class BoxHead : nn.Module<IReadOnlyList<Tensor>, (Tensor Scores, Tensor Boxes)>
{
    private readonly BoxPredictor predictor;

    internal BoxHead(BoxPredictor predictor) : base("box_head")
    {
        this.predictor = predictor;
        RegisterComponents();
    }

    /// <summary>The class and box heads.</summary>
    public BoxPredictor Predictor => predictor;

    /// <inheritdoc />
    public override (Tensor Scores, Tensor Boxes) forward(IReadOnlyList<Tensor> maps) => predictor.call(maps);
}
