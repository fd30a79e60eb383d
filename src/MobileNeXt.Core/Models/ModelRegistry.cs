using System.Globalization;
using MobileNeXt.Architecture;

namespace MobileNeXt.Models;

/// <summary>
/// Every named model of the library (timm's naming: width ×100 in the name): <c>mobilenext_035 … mobilenext_140</c>
/// (the released network), <c>mobilenext_uniform_035 … _140</c> (the paper's Table 1 block everywhere) and
/// <c>mobilenetv2_035 … _140</c> (torchvision's MobileNetV2, the paper's baseline) and <c>mobilenext_se_100</c>,
/// <c>mobilenext_se_110</c> (MobileNeXt† 1.0 and 1.1 of Table 6, with squeeze-excite), <c>mobilenetv2_dw_100</c>
/// (Table 5), <c>mobilenext_fig4a_100</c> … <c>_fig4c_100</c> (Table 10's block variants) and
/// <c>mobilenext_narrow_shortcut_100</c>, <c>mobilenext_relu6_residual_100</c> (Sec. 4.4's block ablations).
/// </summary>
public static class ModelRegistry
{
    /// <summary>The widths of the paper's Table 3.</summary>
    public static IReadOnlyList<double> PaperWidths { get; } = [0.35, 0.5, 0.75, 1.0, 1.4];

    internal const string Table3 = "Zhou et al. 2020, Table 3";
    internal const string Table5 = "Zhou et al. 2020, Table 5";
    internal const string Table6 = "Zhou et al. 2020, Table 6";
    internal const string Table10 = "Zhou et al. 2020, Table 10";
    internal const string Section44 = "Zhou et al. 2020, Sec. 4.4";
    private const string Fig4Source = "Zhou et al., ECCV 2020, supplementary Sec. A, Fig. 4 and Table 10";

    // Table 3 of the paper, rows 6–10 (MobileNeXt) and 1–5 (MobileNetV2): params (M), MAdds (M), top-1 (%).
    private static readonly Dictionary<double, PaperResult> PaperMobileNeXt = new()
    {
        [1.4] = new(6.1, 590, 76.1, Table3 + ", row 6"),
        [1.0] = new(3.4, 300, 74.0, Table3 + ", row 7"),
        [0.75] = new(2.5, 210, 72.0, Table3 + ", row 8"),
        [0.5] = new(2.1, 110, 67.7, Table3 + ", row 9"),
        [0.35] = new(1.8, 80, 64.7, Table3 + ", row 10"),
    };

    private static readonly Dictionary<double, PaperResult> PaperMobileNetV2 = new()
    {
        [1.4] = new(6.9, 690, 74.9, Table3 + ", row 1"),
        [1.0] = new(3.5, 300, 72.3, Table3 + ", row 2"),
        [0.75] = new(2.6, 150, 69.9, Table3 + ", row 3"),
        [0.5] = new(2.0, 97, 65.4, Table3 + ", row 4"),
        [0.35] = new(1.7, 59, 60.3, Table3 + ", row 5"),
    };

    private static readonly IReadOnlyList<(ModelCard Card, Func<ModelCreateOptions, ImageClassifier> Create)> Entries = Build();

    /// <summary>All model cards, in registry order.</summary>
    public static IReadOnlyList<ModelCard> Models { get; } = Entries.Select(e => e.Card).ToList();

    /// <summary>All model names.</summary>
    public static IReadOnlyList<string> Names { get; } = Models.Select(c => c.Name).ToList();

    /// <summary>The card of <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No model has that name; the message lists the names.</exception>
    public static ModelCard GetCard(string name) => Find(name).Card;

    /// <summary>Whether a model of that name exists.</summary>
    public static bool Contains(string name) => Entries.Any(e => e.Card.Name == name);

    /// <summary>Creates the named model with freshly initialised weights.</summary>
    /// <exception cref="KeyNotFoundException">No model has that name; the message lists the names.</exception>
    public static ImageClassifier Create(string name, ModelCreateOptions? options = null) => Find(name).Create(options ?? new ModelCreateOptions());

    /// <summary>The registry name of a width, e.g. 0.75 → <c>075</c>.</summary>
    public static string WidthSuffix(double width) => ((int)Math.Round(width * 100)).ToString("000", CultureInfo.InvariantCulture);

    private static (ModelCard Card, Func<ModelCreateOptions, ImageClassifier> Create) Find(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        foreach (var e in Entries)
            if (e.Card.Name == name) return e;
        var near = Names.Where(n => n.Contains(name, StringComparison.OrdinalIgnoreCase) || name.Contains(n, StringComparison.OrdinalIgnoreCase)).ToList();
        throw new KeyNotFoundException(
            $"Unknown model '{name}'." + (near.Count > 0 ? $" Did you mean {string.Join(" or ", near)}?" : "") +
            $" Available: {string.Join(", ", Names)}.");
    }

    private static List<(ModelCard, Func<ModelCreateOptions, ImageClassifier>)> Build()
    {
        var entries = new List<(ModelCard, Func<ModelCreateOptions, ImageClassifier>)>();
        foreach (double w in PaperWidths)
        {
            Func<ModelCreateOptions, ImageClassifier> released = o => new MobileNeXtNet(MobileNeXt(o.Width ?? w, MobileNeXtVariant.Released, o));
            entries.Add((new ModelCard($"mobilenext_{WidthSuffix(w)}", "MobileNeXt", w,
                $"MobileNeXt-{w:0.00}, the released network (state_dict-compatible with the authors' PyTorch code)",
                PaperMobileNeXt[w], "Zhou et al., ECCV 2020, Table 2; the authors' released code (architecture.md)",
                () => released(new ModelCreateOptions())), released));
        }
        foreach (double w in PaperWidths)
        {
            Func<ModelCreateOptions, ImageClassifier> uniform = o => new MobileNeXtNet(MobileNeXt(o.Width ?? w, MobileNeXtVariant.Uniform, o));
            entries.Add((new ModelCard($"mobilenext_uniform_{WidthSuffix(w)}", "MobileNeXt (uniform)", w,
                $"MobileNeXt-{w:0.00} with the paper's Table 1 block at every position (not the released layout)",
                null, "Zhou et al., ECCV 2020, Tables 1 and 2", () => uniform(new ModelCreateOptions())), uniform));
        }
        foreach (double w in PaperWidths)
        {
            Func<ModelCreateOptions, ImageClassifier> v2 = o => new MobileNetV2(V2Options(o, w, extraDepthwise: false));
            entries.Add((new ModelCard($"mobilenetv2_{WidthSuffix(w)}", "MobileNetV2", w,
                $"MobileNetV2-{w:0.00} in torchvision's layout, the paper's baseline",
                PaperMobileNetV2[w], "Sandler et al., CVPR 2018; torchvision.models.mobilenet_v2", () => v2(new ModelCreateOptions())), v2));
        }
        {
            // Sec. 4.3, Table 5: "MobileNetV2 with one more depthwise convolution inserted in the middle of each inverted
            // residual block", read as a second stride-1 3×3 dw + BN + ReLU6 on the expanded tensor before the first
            // (334.4 M MACs; placed after the strided one it would give 321.5 M; the paper prints 340 M).
            Func<ModelCreateOptions, ImageClassifier> v2dw = o => new MobileNetV2(V2Options(o, 1.0, extraDepthwise: true));
            entries.Add((new ModelCard("mobilenetv2_dw_100", "MobileNetV2 + dw", 1.0,
                "MobileNetV2-1.00 with a second 3×3 depthwise conv before each block's depthwise conv (the paper's Table 5 comparison)",
                new PaperResult(3.6, 340, 73.02, Table5 + ", MobileNetV2 (2 Dwise convs, middle)"),
                "Zhou et al., ECCV 2020, Sec. 4.3 and Table 5", () => v2dw(new ModelCreateOptions())), v2dw));
        }
        foreach (var (name, family, layout, description, paper, source) in new[]
        {
            // Supplementary Sec. A, Table 10 (rows Figure 4(a)–(c)); the readings are the layouts' doc comments.
            ("mobilenext_fig4a_100", "MobileNeXt Fig. 4(a)", BlockLayout.Fig4a,
                "MobileNeXt-1.00's blocks (widths, strides, shortcuts) as He et al.'s bottleneck with a depthwise 3×3: pw reduce + ReLU6 → dw + ReLU6 (stride s) → pw expand, linear; shortcut between the wide ends",
                (PaperResult?)new PaperResult(3.4, 240, 68.90, Table10 + ", Figure 4(a)"), Fig4Source),
            ("mobilenext_fig4b_100", "MobileNeXt Fig. 4(b)", BlockLayout.Fig4b,
                "Fig. 4(a) with a second dw + ReLU6 in the bottleneck, before the strided one: pw reduce + ReLU6 → dw + ReLU6 → dw + ReLU6 (stride s) → pw expand, linear",
                new PaperResult(3.4, 250, 70.11, Table10 + ", Figure 4(b)"), Fig4Source),
            ("mobilenext_fig4c_100", "MobileNeXt Fig. 4(c)", BlockLayout.Fig4c,
                "The sandglass block with its pointwise convs swapped: dw + ReLU6 → pw expand + ReLU6 → pw reduce, linear (stride s) → dw, linear; narrow ends and shortcut, on MobileNetV2's stage table with its 1×1 conv to 1280",
                new PaperResult(3.5, 300, 69.26, Table10 + ", Figure 4(c)"), Fig4Source),
            // Sec. 4.4 prints no parameters or MAdds for its ablations, only the change in top-1 against 74.02 %.
            ("mobilenext_narrow_shortcut_100", "MobileNeXt ablation", BlockLayout.NarrowShortcut,
                "Sec. 4.4's ablation: mobilenext_100's convs with the block boundaries at its bottleneck tensors, so shortcuts join bottlenecks of equal width: pw expand + ReLU6 → dw, linear (stride s) → dw + ReLU6 → pw reduce, linear",
                null, Section44 + ", \"Importance of using wider transformation\" (top-1 −1 % against 74.02 %)"),
            ("mobilenext_relu6_residual_100", "MobileNeXt ablation", BlockLayout.SandglassReLU6Residual,
                "Sec. 4.4's ablation: mobilenext_100 with ReLU6 after each block's last conv (a non-linear residual branch)",
                null, Section44 + ", \"Importance of linear residuals\" (top-1 nearly −1 % against 74.02 %)"),
        })
        {
            Func<ModelCreateOptions, ImageClassifier> variant = o => new MobileNeXtNet(MobileNeXt(o.Width ?? 1.0, MobileNeXtVariant.Released, o) with { Layout = layout });
            entries.Add((new ModelCard(name, family, 1.0, description, paper, source, () => variant(new ModelCreateOptions())), variant));
        }
        foreach (var (suffix, depth, groups, paper) in new[]
        {
            // followon-models.md §A: 1.0† is the released mnext-b0, 1.1† is mnext-b1 (depth ×1.1, 1×1 convs in groups of 2)
            ("100", 1.0, 1, new PaperResult(3.94, 330, 76.05, Table6 + ", MobileNeXt† 1.0")),
            ("110", 1.1, 2, new PaperResult(4.28, 420, 76.7, Table6 + ", MobileNeXt† 1.1")),
        })
        {
            Func<ModelCreateOptions, ImageClassifier> se = o =>
            {
                if (o.Width is { } width && width != 1.0)
                    throw new ArgumentOutOfRangeException(nameof(o.Width), width, "MobileNeXt† is defined at width 1.0 only; leave Width unset.");
                if (o.IdentityMultiplier != 1.0)
                    throw new ArgumentOutOfRangeException(nameof(o.IdentityMultiplier), o.IdentityMultiplier, "MobileNeXt† has no identity tensor multiplier; leave it at 1.");
                return new MobileNeXtSeNet(new MobileNeXtSeOptions
                {
                    Depth = depth, PointwiseGroups = groups, NumClasses = o.NumClasses, DropRate = o.DropRate, InChannels = o.InChannels,
                    DropConnectRate = o.DropConnectRate ?? SeStageTables.DropConnectRate,
                });
            };
            entries.Add((new ModelCard($"mobilenext_se_{suffix}", "MobileNeXt†", 1.0,
                $"MobileNeXt† {depth:0.0} (squeeze-excite, swish, 5×5 stages; the released efficient_mnext mnext-b{(depth == 1.0 ? 0 : 1)}, state_dict-compatible)",
                paper, "Zhou et al., ECCV 2020, Table 6; the authors' efficient_mnext code (followon-models.md §A)",
                () => se(new ModelCreateOptions())), se));
        }
        return entries;
    }

    private static MobileNetV2Options V2Options(ModelCreateOptions o, double width, bool extraDepthwise)
    {
        if (o.IdentityMultiplier != 1.0)
            throw new ArgumentOutOfRangeException(nameof(o.IdentityMultiplier), o.IdentityMultiplier, "MobileNetV2 has no identity tensor multiplier; leave it at 1.");
        RejectDropConnect(o);
        return new MobileNetV2Options
        {
            Width = o.Width ?? width, NumClasses = o.NumClasses, DropRate = o.DropRate, InChannels = o.InChannels, ExtraDepthwise = extraDepthwise,
        };
    }

    private static MobileNeXtOptions MobileNeXt(double width, MobileNeXtVariant variant, ModelCreateOptions o)
    {
        RejectDropConnect(o);
        return new()
        {
            Width = width,
            Variant = variant,
            NumClasses = o.NumClasses,
            IdentityMultiplier = o.IdentityMultiplier,
            DropRate = o.DropRate,
            InChannels = o.InChannels,
        };
    }

    // Only MobileNeXt† has drop-connect; asking another network for it is a mistake worth one sentence.
    private static void RejectDropConnect(ModelCreateOptions o)
    {
        if (o.DropConnectRate is not (null or 0))
            throw new ArgumentOutOfRangeException(nameof(o.DropConnectRate), o.DropConnectRate, "Only MobileNeXt† (mobilenext_se_*) has drop-connect; leave DropConnectRate unset.");
    }
}
