using MobileNeXt.Layers;
using MobileNeXt.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Profiling;

/// <summary>
/// Counts parameters, MACs and element-wise operations per module by running one image through the network with
/// forward hooks (shapes only; no tensor is kept). See <see cref="ProfileReport"/> for the conventions.
/// </summary>
public static class ModelProfiler
{
    /// <summary>Profiles <paramref name="model"/> for one <paramref name="inputSize"/>² image, in eval mode.</summary>
    public static ProfileReport Profile(ImageClassifier model, int inputSize = 224)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (inputSize < ImageClassifier.MinInputSize)
            throw new ArgumentOutOfRangeException(nameof(inputSize), inputSize, $"Input size must be at least {ImageClassifier.MinInputSize}.");
        return Profile(model, model.InChannels, inputSize, x => model.call(x).Dispose());
    }

    /// <summary>
    /// Profiles any network whose layers are <c>Module&lt;Tensor, Tensor&gt;</c>s (a detector's backbone, extras and heads;
    /// a searched cell's network): <paramref name="run"/> runs it once on the zero image it is given and disposes what it
    /// returns. Modules of other signatures (a cell taking two inputs) are not hooked themselves; their layers are.
    /// </summary>
    public static ProfileReport Profile(nn.Module model, long inChannels, int inputSize, Action<Tensor> run)
    {
        var names = new Dictionary<nn.Module, string>(ReferenceEqualityComparer.Instance);
        foreach (var (name, module) in model.named_modules()) names[module] = name;

        var records = new List<LayerProfile>();
        var order = new Dictionary<nn.Module, int>(ReferenceEqualityComparer.Instance);
        var removers = new List<Action>();
        foreach (var module in names.Keys.OfType<nn.Module<Tensor, Tensor>>())
        {
            // Pre-hooks fix the order a container appears in (before its children); post-hooks fill in the shapes.
            var pre = module.register_forward_pre_hook((m, input) =>
            {
                order[m] = records.Count;
                records.Add(null!);
                return null!;
            });
            var post = module.register_forward_hook((m, input, output) =>
            {
                records[order[m]] = Own(names[m], m, input.shape, output.shape);
                return null!;
            });
            removers.Add(pre.remove);
            removers.Add(post.remove);
        }

        bool wasTraining = model.training;
        try
        {
            model.eval();
            using var _ = no_grad();
            using var x = zeros(1, inChannels, inputSize, inputSize);
            run(x);
        }
        finally
        {
            foreach (var remove in removers) remove();
            model.train(wasTraining);
        }

        var own = records.ToList();
        return new ProfileReport(
            inputSize,
            Accumulate(own),
            model.parameters().Sum(p => p.numel()),
            own.Sum(r => r.Macs),
            own.Sum(r => r.ElementwiseOps));
    }

    /// <summary>A module's own cost: leaves from their formula; containers get only their shortcut here.</summary>
    private static LayerProfile Own(string name, nn.Module module, long[] input, long[] output)
    {
        long outElements = output.Aggregate(1L, (a, b) => a * b);
        long ownParams = module.named_parameters(recurse: false).Sum(p => p.parameter.numel());
        bool leaf = !module.children().Any();
        (long macs, long elementwise) = module switch
        {
            // architecture.md: Cout·Hout·Wout·(Cin/groups)·kh·kw
            Conv2d c => (outElements * (c.in_channels / c.groups) * c.kernel_size[0] * c.kernel_size[1], 0L),
            Linear l => (outElements * l.in_features, 0L),
            BatchNorm or ReLU6 or ReLU or Hardswish or SiLU => (0L, outElements),
            AdaptiveAvgPool2d => (0L, input.Aggregate(1L, (a, b) => a * b)),
            SandglassBlock b => (0L, (long)b.ShortcutChannels * output[2] * output[3]),
            // the SE scaling (one multiply per output element) and the residual add; the SE convs count themselves
            SeSandglassBlock b => (0L, outElements * (b.Spec.HasResidual ? 2 : 1)),
            _ => (0L, 0L),
        };
        if (module is InvertedResidual ir && input.SequenceEqual(output)) elementwise = outElements;
        return new LayerProfile(name, module is BatchNorm ? "BatchNorm2d" : module.GetType().Name, input, output, ownParams, macs, elementwise) { IsLeaf = leaf };
    }

    /// <summary>Adds every descendant's own cost to each container (names are dotted paths).</summary>
    private static List<LayerProfile> Accumulate(List<LayerProfile> own) =>
        own.Select(r =>
        {
            if (r.IsLeaf) return r;
            var descendants = own.Where(c => c.Name.StartsWith(r.Name + ".", StringComparison.Ordinal)).ToList();
            return r with
            {
                Params = r.Params + descendants.Sum(c => c.Params),
                Macs = r.Macs + descendants.Sum(c => c.Macs),
                ElementwiseOps = r.ElementwiseOps + descendants.Sum(c => c.ElementwiseOps),
            };
        }).ToList();
}
