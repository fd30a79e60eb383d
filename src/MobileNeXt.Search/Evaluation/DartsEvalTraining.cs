using MobileNeXt.Search.Network;
using MobileNeXt.Search.Search;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Search.Evaluation;

/// <summary>One epoch of training a searched network.</summary>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="LearningRate">The epoch's learning rate.</param>
/// <param name="DropPath">The epoch's drop-path probability.</param>
/// <param name="Steps">Steps taken.</param>
/// <param name="TrainLoss">Mean main-head cross-entropy of the training batches.</param>
/// <param name="TrainAccuracy">Fraction of training samples classified right (main head, in training mode).</param>
/// <param name="TestAccuracy">Fraction of the test set classified right in evaluation mode after the epoch.</param>
public sealed record DartsEvalEpoch(int Epoch, double LearningRate, double DropPath, int Steps, double TrainLoss, double TrainAccuracy, double TestAccuracy);

/// <summary>
/// DARTS's evaluation training (quark0/darts <c>cnn/train.py</c>, <c>train()</c> and <c>infer()</c>) of an
/// <see cref="EvalNetwork"/>: per epoch the learning rate of <see cref="DartsEvalOptions.LearningRateAt"/> and the
/// drop-path probability of <see cref="DartsEvalOptions.DropPathAt"/>; per batch the loss
/// <c>CE(logits) + auxiliary_weight · CE(auxiliary logits)</c>, its gradient norm clipped to
/// <see cref="DartsEvalOptions.GradientClip"/>, then SGD with momentum and L2 decay; after the epoch the test accuracy.
/// </summary>
public sealed class DartsEvalTraining : IDisposable
{
    private readonly MomentumSgd _sgd;

    /// <summary>A run training <paramref name="network"/> with <paramref name="options"/>.</summary>
    public DartsEvalTraining(EvalNetwork network, DartsEvalOptions options)
    {
        Network = network ?? throw new ArgumentNullException(nameof(network));
        Options = options ?? throw new ArgumentNullException(nameof(options));
        Options.Validate();
        _sgd = new MomentumSgd(network.parameters().ToList(), Options.Momentum, Options.WeightDecay);
    }

    /// <summary>The network trained.</summary>
    public EvalNetwork Network { get; }

    /// <summary>The recipe.</summary>
    public DartsEvalOptions Options { get; }

    /// <summary>Stop each epoch after this many steps (a budget); null for whole epochs.</summary>
    public int? MaxStepsPerEpoch { get; init; }

    /// <summary>
    /// Trains every epoch. <paramref name="train"/> gives an epoch's training batches, <paramref name="test"/> the test
    /// set's; <paramref name="progress"/> hears of each finished epoch.
    /// </summary>
    public IReadOnlyList<DartsEvalEpoch> Run(
        Func<int, IEnumerable<(Tensor Images, Tensor Labels)>> train,
        Func<IEnumerable<(Tensor Images, Tensor Labels)>> test,
        IProgress<DartsEvalEpoch>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(test);
        var epochs = new List<DartsEvalEpoch>();
        for (int epoch = 0; epoch < Options.Epochs; epoch++)
        {
            var result = RunEpoch(epoch, train(epoch), test, cancellationToken);
            epochs.Add(result);
            progress?.Report(result);
        }
        return epochs;
    }

    private DartsEvalEpoch RunEpoch(int epoch, IEnumerable<(Tensor Images, Tensor Labels)> train, Func<IEnumerable<(Tensor Images, Tensor Labels)>> test,
        CancellationToken cancellationToken)
    {
        double lr = Options.LearningRateAt(epoch), dropPath = Options.DropPathAt(epoch), lossSum = 0;
        Network.DropPathProbability = dropPath;
        Network.train();
        long correct = 0, seen = 0;
        int steps = 0;
        var device = Network.parameters().First().device;
        foreach (var (images, labels) in train)
        {
            if (steps == MaxStepsPerEpoch) break;
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var x = images.to(device);
            var y = labels.to(device);
            _sgd.ZeroGrad();
            var (logits, auxiliary) = Network.ForwardWithAuxiliary(x);
            var main = nn.functional.cross_entropy(logits, y);
            var loss = auxiliary is null ? main : main + Options.AuxiliaryWeight * nn.functional.cross_entropy(auxiliary, y);
            loss.backward();
            nn.utils.clip_grad_norm_(_sgd.Parameters, Options.GradientClip);
            _sgd.Step(lr);
            long n = y.shape[0];
            lossSum += main.item<float>() * n;
            correct += logits.argmax(1).eq(y).sum().item<long>();
            seen += n;
            steps++;
        }
        if (steps == 0) throw new InvalidOperationException($"Epoch {epoch} had no training batch; the training set is empty.");

        Network.eval();
        long testCorrect = 0, testSeen = 0;
        using (no_grad())
            foreach (var (images, labels) in test())
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var y = labels.to(device);
                testCorrect += Network.call(images.to(device)).argmax(1).eq(y).sum().item<long>();
                testSeen += y.shape[0];
            }
        if (testSeen == 0) throw new InvalidOperationException("The test set gave no batch.");
        return new DartsEvalEpoch(epoch, lr, dropPath, steps, lossSum / seen, (double)correct / seen, (double)testCorrect / testSeen);
    }

    /// <inheritdoc />
    public void Dispose() => _sgd.Dispose();
}
