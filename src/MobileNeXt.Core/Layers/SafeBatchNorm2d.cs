using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MobileNeXt.Layers;

/// <summary>
/// <c>BatchNorm2d</c> with PyTorch's semantics and state (<c>weight</c>, <c>bias</c>, <c>running_mean</c>,
/// <c>running_var</c>, <c>num_batches_tracked</c>), whose training-mode step counter is incremented with a
/// <see cref="KeptScalars">kept scalar</see> instead of TorchSharp's temporary one.
/// </summary>
/// <remarks>
/// TorchSharp 0.107's <c>BatchNorm.forward</c> runs <c>num_batches_tracked.add_(1)</c>, which creates two finalizable
/// temporary scalars per layer per training step; a garbage collection on another thread can free them while libtorch
/// reads them ("Unknown scalar type", seen in a two-rank training run). Everything else is the base class's:
/// <c>F.batch_norm</c> with the batch's statistics in training mode and the running ones in eval mode.
/// </remarks>
public sealed class SafeBatchNorm2d : BatchNorm
{
    /// <summary>A BatchNorm over <paramref name="features"/> channels, affine and tracking running statistics.</summary>
    public SafeBatchNorm2d(long features, double eps = 1e-5, double momentum = 0.1)
        : base(features, eps, momentum, affine: true, track_running_stats: true, device: null, dtype: null, name: nameof(SafeBatchNorm2d))
    {
    }

    /// <inheritdoc />
    protected override void ValidateInputDimensions(Tensor input)
    {
        if (input.ndim != 4)
            throw new ArgumentException($"BatchNorm2d expects a 4-D (N, C, H, W) input, got {input.ndim}-D.", nameof(input));
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        ValidateInputDimensions(input);
        if (training) num_batches_tracked?.add_(KeptScalars.One, KeptScalars.One);
        if (ServesChannelsLast(input))
            return ChannelsLastBatchNorm.Forward(input, weight!, bias!, running_mean!, running_var!, momentum ?? 0.1, eps, relu6: false);
        return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum ?? 0.1, eps);
    }

    /// <summary>This layer followed by ReLU6 in one pass where <see cref="ChannelsLastBatchNorm"/> serves the input, else null.</summary>
    internal Tensor? ForwardWithReLU6(Tensor input)
    {
        if (!ServesChannelsLast(input)) return null; // 4-D channels-last in training mode, or libtorch's path
        num_batches_tracked?.add_(KeptScalars.One, KeptScalars.One);
        return ChannelsLastBatchNorm.Forward(input, weight!, bias!, running_mean!, running_var!, momentum ?? 0.1, eps, relu6: true);
    }

    // training mode on a channels-last float32 CPU batch, with MemoryLayout.BatchNorm choosing this library's kernel
    private bool ServesChannelsLast(Tensor input) =>
        training && weight is not null && bias is not null && running_mean is not null && running_var is not null
        && weight.dtype == ScalarType.Float32 && ChannelsLastBatchNorm.Serves(input)
        && MemoryLayout.EffectiveBatchNorm == BatchNormPath.Fused;
}
