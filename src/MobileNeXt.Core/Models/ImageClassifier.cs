using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Models;

/// <summary>
/// What every network of this library answers (the interface of timm's models): features, head, classifier
/// reset, feature taps. <c>call(x)</c> gives logits for an N×C×H×W batch.
/// </summary>
public abstract class ImageClassifier : nn.Module<Tensor, Tensor>
{
    /// <summary>Smallest input side accepted: five stride-2 stages need at least 32 pixels.</summary>
    public const int MinInputSize = 32;

    /// <summary>Creates the module with its registered name.</summary>
    protected ImageClassifier(string name) : base(name) { }

    /// <summary>Input channels the stem expects.</summary>
    public abstract int InChannels { get; }

    /// <summary>Width of the pooled features fed to the classifier.</summary>
    public abstract int NumFeatures { get; }

    /// <summary>Number of classes the classifier predicts (0 when it has been reset to none).</summary>
    public abstract int NumClasses { get; }

    /// <summary>The feature maps <see cref="ForwardFeatureTaps"/> returns, in order: output strides 8, 16 and 32.</summary>
    public abstract IReadOnlyList<FeatureTap> FeatureTaps { get; }

    /// <summary>The backbone: input batch to the last feature map (N×<see cref="NumFeatures"/>×H/32×W/32).</summary>
    public abstract Tensor ForwardFeatures(Tensor x);

    /// <summary>Pooling, dropout and classifier. With <paramref name="preLogits"/> it returns the pooled features.</summary>
    public abstract Tensor ForwardHead(Tensor features, bool preLogits = false);

    /// <summary>The maps of <see cref="FeatureTaps"/> for one batch, in the same order.</summary>
    public abstract IReadOnlyList<Tensor> ForwardFeatureTaps(Tensor x);

    /// <summary>Replaces the classifier with a new, freshly initialised one for <paramref name="numClasses"/> classes (0 = none: logits become pooled features).</summary>
    public abstract void ResetClassifier(int numClasses);

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var features = ForwardFeatures(x);
        return ForwardHead(features).MoveToOuterDisposeScope();
    }

    /// <summary>Swaps a registered child module (e.g. the classifier) and disposes the old one.</summary>
    protected void ReplaceModule<T>(string name, ref T field, T replacement) where T : nn.Module
    {
        var old = field;
        field = replacement;
        _internal_submodules.Remove(name); // register_module refuses a name that is taken
        register_module(name, replacement);
        old.Dispose();
    }

    /// <summary>
    /// Checks an input batch and throws an <see cref="ArgumentException"/> that says what is wrong and what to pass.
    /// </summary>
    protected void ValidateInput(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Dimensions != 4)
            throw new ArgumentException(
                $"Expected a 4-D batch N×{InChannels}×H×W, got a {x.Dimensions}-D tensor of shape [{string.Join(", ", x.shape)}]." +
                (x.Dimensions == 3 ? " For one image, add the batch dimension: x.unsqueeze(0)." : ""), nameof(x));
        if (x.shape[1] != InChannels)
            throw new ArgumentException(
                $"Expected {InChannels} input channels, got {x.shape[1]} (shape [{string.Join(", ", x.shape)}]). " +
                "Pass channels-first (N×C×H×W) images" + (InChannels == 3 ? "; convert greyscale to RGB." : "."), nameof(x));
        if (x.shape[2] < MinInputSize || x.shape[3] < MinInputSize)
            throw new ArgumentException(
                $"Input {x.shape[2]}×{x.shape[3]} is smaller than the minimum {MinInputSize}×{MinInputSize} (the network downsamples by 32). Resize the images first.", nameof(x));
        if (!x.is_floating_point())
            throw new ArgumentException($"Expected a floating-point tensor, got {x.dtype}. Convert and normalise the images first.", nameof(x));
    }
}
