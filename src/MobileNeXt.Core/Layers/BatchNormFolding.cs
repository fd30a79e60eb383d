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
    /// parent receives <c>fuse_conv_bn_weights</c> of the two; every other parameter is copied as it is, including a
    /// conv that already has a bias and no BatchNorm after it (MobileNeXt†'s squeeze-excite convs).
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
                case Conv2d conv when conv.bias is not null && NextSibling(source, modules, name) is not BatchNorm:
                    ((Conv2d)twin).weight!.copy_(conv.weight!);
                    ((Conv2d)twin).bias!.copy_(conv.bias);
                    break;
                case Conv2d conv:
                    var norm = NextSibling(source, modules, name) as BatchNorm
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

    /// <summary>
    /// The module registered after <paramref name="name"/> in the same parent: the next index of a Sequential, or the
    /// next named child (MobileNeXt†'s <c>_conv_stem</c> → <c>_bn0</c>).
    /// </summary>
    private static nn.Module? NextSibling(nn.Module root, Dictionary<string, nn.Module> modules, string name)
    {
        int dot = name.LastIndexOf('.');
        var parent = dot < 0 ? root : modules.GetValueOrDefault(name[..dot]);
        if (parent is null) return null;
        string own = name[(dot + 1)..];
        var siblings = parent.named_children().ToList();
        int index = siblings.FindIndex(c => c.name == own);
        return index >= 0 && index + 1 < siblings.Count ? siblings[index + 1].module : null;
    }
}
