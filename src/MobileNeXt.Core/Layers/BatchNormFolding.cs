using MobileNeXt.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileNeXt.Layers;

/// <summary>Copies a network's weights into its fused twin, folding each BatchNorm into the conv before it.</summary>
internal static class BatchNormFolding
{
    /// <summary>
    /// <paramref name="fused"/> has the same module tree as <paramref name="source"/> except that every BatchNorm is an
    /// Identity and every conv has a bias, so modules pair up by name. A conv followed by a BatchNorm in the same
    /// Sequential receives <c>fuse_conv_bn_weights</c> of the two; every other parameter is copied as it is.
    /// </summary>
    public static void FoldInto(nn.Module source, nn.Module fused)
    {
        var target = fused.named_modules().ToDictionary(m => m.name, m => m.module);
        var modules = source.named_modules().ToDictionary(m => m.name, m => m.module);
        using var _ = no_grad();
        foreach (var (name, module) in modules)
        {
            var twin = target[name];
            switch (module)
            {
                case Conv2d conv:
                    var norm = NextSibling(modules, name) as BatchNorm
                        ?? throw new InvalidOperationException($"{name}: a conv without a following BatchNorm cannot be fused.");
                    var (weight, bias) = nn.utils.fuse_conv_bn_weights(conv.weight!, conv.bias, norm.running_mean!, norm.running_var!, norm.eps, norm.weight!, norm.bias!, transpose: false);
                    var fusedConv = (Conv2d)twin;
                    fusedConv.weight!.copy_(weight);
                    fusedConv.bias!.copy_(bias);
                    weight.Dispose();
                    bias.Dispose();
                    break;
                case Linear linear:
                    var fusedLinear = (Linear)twin;
                    fusedLinear.weight!.copy_(linear.weight!);
                    if (linear.bias is not null) fusedLinear.bias!.copy_(linear.bias);
                    break;
            }
        }
    }

    /// <summary>The module after <paramref name="name"/> in its parent Sequential (names end in the child index).</summary>
    private static nn.Module? NextSibling(Dictionary<string, nn.Module> modules, string name)
    {
        int dot = name.LastIndexOf('.');
        if (dot < 0 || !int.TryParse(name[(dot + 1)..], out int index)) return null;
        return modules.GetValueOrDefault($"{name[..dot]}.{index + 1}");
    }
}
