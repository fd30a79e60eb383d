using MobileNeXt.Models;
using MobileNeXt.Training.Optimization;
using static TorchSharp.torch;

namespace MobileNeXt.Bench;

/// <summary>
/// The trainer's step on one batch held in memory: mobilenext_100 at 224² unless told otherwise, SGD Nesterov 0.9, weight decay 1e-4, label
/// smoothing 0.1, the loss read back as the trainer reads it, and the layout change inside the step as the trainer makes
/// it for every batch. The same step as the PyTorch peer's, and the baseline the whole training loop is compared with.
/// </summary>
internal sealed class BareTrainingStep : IDisposable
{
    private readonly ImageClassifier _model;
    private readonly SgdOptimizer _optimizer;
    private readonly Tensor _x, _y;
    private readonly bool _channelsLast;

    public BareTrainingStep(bool channelsLast, int batch = 32, int classes = 1000, bool decayNormAndBias = true,
        string model = "mobilenext_100", int inputSize = 224)
    {
        _channelsLast = channelsLast;
        _model = ModelRegistry.Create(model, new ModelCreateOptions { NumClasses = classes });
        _model.train();
        _optimizer = ParameterGroups.Split(_model, decayNormAndBias).CreateSgd(0.01, 0.9, nesterov: true, weightDecay: 1e-4);
        _x = randn(batch, 3, inputSize, inputSize);
        _y = randint(0, classes, [batch], dtype: ScalarType.Int64);
    }

    /// <summary>One step; <paramref name="afterPass"/>, when given, is called after the forward and after the backward pass.</summary>
    public void Run(Action<string>? afterPass = null)
    {
        using var scope = NewDisposeScope();
        _optimizer.ZeroGrad();
        var input = _channelsLast ? MemoryLayout.ToChannelsLast(_x) : _x;
        var loss = nn.functional.cross_entropy(_model.call(input), _y, label_smoothing: 0.1);
        loss.item<float>();
        afterPass?.Invoke("forward");
        loss.backward();
        afterPass?.Invoke("backward");
        _optimizer.Step();
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        _model.Dispose();
        _x.Dispose();
        _y.Dispose();
    }
}
