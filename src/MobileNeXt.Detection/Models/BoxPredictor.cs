using MobileNeXt.Layers;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace MobileNeXt.Detection;

/// <summary>
/// SSDLite's box predictor (<c>box_head.predictor</c>): per level, a class head and a box head; levels 0 to n−2 are
/// <see cref="SeparableHead"/>s, the last a plain 1×1 conv with bias (the released <c>SSDLiteBoxPredictor</c>). It returns
/// the raw class logits (N × priors × classes) and box regressions (N × priors × 4), each level flattened row by row
/// (NHWC), the priors of a location last.
/// </summary>
public sealed class BoxPredictor : nn.Module<IReadOnlyList<Tensor>, (Tensor Scores, Tensor Boxes)>
{
    [ComponentName(Name = "cls_headers")]
    private readonly ModuleList<nn.Module<Tensor, Tensor>> classHeads;
    [ComponentName(Name = "reg_headers")]
    private readonly ModuleList<nn.Module<Tensor, Tensor>> boxHeads;
    private readonly int numClasses;

    internal BoxPredictor(IReadOnlyList<int> channels, IReadOnlyList<int> priorsPerLocation, int numClasses, bool fused) : base("predictor")
    {
        this.numClasses = numClasses;
        classHeads = new ModuleList<nn.Module<Tensor, Tensor>>(channels.Select((c, i) => Head(c, priorsPerLocation[i] * numClasses, i == channels.Count - 1, fused)).ToArray());
        boxHeads = new ModuleList<nn.Module<Tensor, Tensor>>(channels.Select((c, i) => Head(c, priorsPerLocation[i] * 4, i == channels.Count - 1, fused)).ToArray());
        RegisterComponents();
        if (fused) return;
        // The released BoxPredictor.reset_parameters: Xavier-uniform conv weights, zero biases (BatchNorm keeps 1 and 0).
        using var _ = no_grad();
        foreach (var conv in modules().OfType<Conv2d>())
        {
            nn.init.xavier_uniform_(conv.weight!);
            nn.init.zeros_(conv.bias!);
        }
    }

    /// <summary>The class heads, one per level (<c>cls_headers.0</c> … ).</summary>
    public ModuleList<nn.Module<Tensor, Tensor>> ClassHeads => classHeads;

    /// <summary>The box heads, one per level (<c>reg_headers.0</c> … ).</summary>
    public ModuleList<nn.Module<Tensor, Tensor>> BoxHeads => boxHeads;

    /// <inheritdoc />
    public override (Tensor Scores, Tensor Boxes) forward(IReadOnlyList<Tensor> maps)
    {
        using var scope = NewDisposeScope();
        long n = maps[0].shape[0];
        // The 1×1 map of the last level fits both layouts' strides: the first map's layout decides how the heads run.
        var scores = cat(maps.Select((m, i) => Flatten(classHeads[i], m, maps[0])).ToList(), 1).view(n, -1, numClasses);
        var boxes = cat(maps.Select((m, i) => Flatten(boxHeads[i], m, maps[0])).ToList(), 1).view(n, -1, 4);
        return (scores.MoveToOuterDisposeScope(), boxes.MoveToOuterDisposeScope());
    }

    private static Tensor Flatten(nn.Module<Tensor, Tensor> head, Tensor map, Tensor layoutOf) =>
        ConvLayers.Run(head, map, layoutOf).permute(0, 2, 3, 1).reshape(map.shape[0], -1);

    private static nn.Module<Tensor, Tensor> Head(int input, int output, bool last, bool fused) =>
        last ? nn.Conv2d(input, output, 1, bias: true) : new SeparableHead(input, output, fused);
}
