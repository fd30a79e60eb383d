using MobileNeXt.Search.Network;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Search.Search;

/// <summary>
/// DARTS's search loop (Liu et al. 2018, Alg. 1; quark0/darts <c>cnn/train_search.py</c>, <c>train()</c>): for every
/// batch of the weights' half, one architecture step on a batch of the other half (first- or second-order), then one
/// SGD step of the weights with the gradient norm clipped; the learning rate follows the cosine schedule per epoch, and
/// each epoch ends with the derived genotype.
/// </summary>
public sealed class DartsSearch : IDisposable
{
    private readonly MomentumSgd _sgd;
    private readonly Architect _architect;

    /// <summary>A search of <paramref name="network"/> with <paramref name="options"/> (DARTS's preset by default).</summary>
    public DartsSearch(SearchNetwork network, DartsSearchOptions? options = null)
    {
        Network = network ?? throw new ArgumentNullException(nameof(network));
        Options = options ?? DartsSearchOptions.Darts;
        Options.Validate();
        _sgd = new MomentumSgd(network.WeightParameters(), Options.Momentum, Options.WeightDecay);
        _architect = new Architect(network, _sgd, Options.ArchLearningRate, Options.ArchBeta1, Options.ArchBeta2, Options.ArchWeightDecay);
    }

    /// <summary>The network searched.</summary>
    public SearchNetwork Network { get; }

    /// <summary>The hyper-parameters.</summary>
    public DartsSearchOptions Options { get; }

    /// <summary>
    /// Runs every epoch. <paramref name="train"/> and <paramref name="valid"/> give the batches of the two halves for an
    /// epoch number; the validation half is read alongside (its next batch at each step, restarting with the next number
    /// when it runs out), as DARTS draws one batch of its shuffled validation queue per step.
    /// </summary>
    public IReadOnlyList<SearchEpoch> Run(
        Func<int, IEnumerable<(Tensor Images, Tensor Labels)>> train,
        Func<int, IEnumerable<(Tensor Images, Tensor Labels)>> valid,
        IProgress<SearchEpoch>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(valid);
        var epochs = new List<SearchEpoch>();
        using var validBatches = new CyclingBatches(valid);
        for (int epoch = 0; epoch < Options.Epochs; epoch++)
        {
            var result = RunEpoch(epoch, train(epoch), validBatches);
            epochs.Add(result);
            progress?.Report(result);
        }
        return epochs;
    }

    private SearchEpoch RunEpoch(int epoch, IEnumerable<(Tensor Images, Tensor Labels)> train, CyclingBatches valid)
    {
        Network.train();
        double lr = Options.LearningRateAt(epoch), lossSum = 0;
        long correct = 0, seen = 0;
        int steps = 0;
        var device = Network.AlphasNormal.device;
        foreach (var (trainImages, trainLabels) in train)
        {
            if (steps == Options.MaxStepsPerEpoch) break;
            var (validImages, validLabels) = valid.Next();
            using var scope = NewDisposeScope();
            var xt = trainImages.to(device);
            var yt = trainLabels.to(device);
            _architect.Step(xt, yt, validImages.to(device), validLabels.to(device), lr, Options.Order);
            _sgd.ZeroGrad();
            var logits = Network.call(xt);
            var loss = nn.functional.cross_entropy(logits, yt);
            loss.backward();
            nn.utils.clip_grad_norm_(_sgd.Parameters, Options.GradientClip);
            _sgd.Step(lr);
            long n = yt.shape[0];
            lossSum += loss.item<float>() * n;
            correct += logits.argmax(1).eq(yt).sum().item<long>();
            seen += n;
            steps++;
        }
        if (steps == 0) throw new InvalidOperationException($"Epoch {epoch} had no training batch; the weights' half of the data is empty.");
        return new SearchEpoch(epoch, lr, steps, lossSum / seen, (double)correct / seen, Genotype.Derive(Network));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _architect.Dispose();
        _sgd.Dispose();
    }

    /// <summary>The validation half's batches, epoch after epoch, one at a time.</summary>
    private sealed class CyclingBatches(Func<int, IEnumerable<(Tensor Images, Tensor Labels)>> source) : IDisposable
    {
        private IEnumerator<(Tensor Images, Tensor Labels)>? _current;
        private int _pass;

        public (Tensor Images, Tensor Labels) Next()
        {
            for (int attempt = 0; attempt < 2; attempt++)
            {
                _current ??= source(_pass++).GetEnumerator();
                if (_current.MoveNext()) return _current.Current;
                _current.Dispose();
                _current = null;
            }
            throw new InvalidOperationException("The validation half gave no batch; it needs at least one sample.");
        }

        public void Dispose() => _current?.Dispose();
    }
}
