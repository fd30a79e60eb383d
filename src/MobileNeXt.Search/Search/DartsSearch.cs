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

    /// <summary>Epochs completed (by this object or the checkpoint it was restored from); <see cref="Run"/> continues from here.</summary>
    public int EpochsDone { get; private set; }

    /// <summary>What every completed epoch did, in order (restored with a checkpoint).</summary>
    public IReadOnlyList<SearchEpoch> History => _history;

    private readonly List<SearchEpoch> _history = [];

    /// <summary>
    /// Runs the epochs from <see cref="EpochsDone"/> to <see cref="DartsSearchOptions.Epochs"/>. <paramref name="train"/>
    /// gives the weights' half's batches of an epoch; <paramref name="valid"/> gives the architecture step's batch for
    /// (epoch, step): DARTS draws a fresh random batch of the other half at every step (<see cref="SearchData.RandomBatch"/>).
    /// <paramref name="progress"/> hears of each finished epoch synchronously (a checkpoint written then resumes exactly);
    /// <paramref name="steps"/> of each step.
    /// </summary>
    public IReadOnlyList<SearchEpoch> Run(
        Func<int, IEnumerable<(Tensor Images, Tensor Labels)>> train,
        Func<int, int, (Tensor Images, Tensor Labels)> valid,
        IProgress<SearchEpoch>? progress = null,
        IProgress<SearchStep>? steps = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(valid);
        var epochs = new List<SearchEpoch>();
        while (EpochsDone < Options.Epochs)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var result = RunEpoch(EpochsDone, train(EpochsDone), valid, steps, cancellationToken);
            epochs.Add(result);
            _history.Add(result);
            EpochsDone++;
            progress?.Report(result);
        }
        return epochs;
    }

    private SearchEpoch RunEpoch(int epoch, IEnumerable<(Tensor Images, Tensor Labels)> train, Func<int, int, (Tensor Images, Tensor Labels)> valid,
        IProgress<SearchStep>? report, CancellationToken cancellationToken)
    {
        Network.train();
        double lr = Options.LearningRateAt(epoch), lossSum = 0;
        long correct = 0, seen = 0;
        int steps = 0;
        var device = Network.AlphasNormal.device;
        foreach (var (trainImages, trainLabels) in train)
        {
            if (steps == Options.MaxStepsPerEpoch) break;
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var (validImages, validLabels) = valid(epoch, steps);
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
            double stepLoss = loss.item<float>();
            lossSum += stepLoss * n;
            correct += logits.argmax(1).eq(yt).sum().item<long>();
            seen += n;
            report?.Report(new SearchStep(epoch, steps, stepLoss, lossSum / seen));
            steps++;
        }
        if (steps == 0) throw new InvalidOperationException($"Epoch {epoch} had no training batch; the weights' half of the data is empty.");
        return new SearchEpoch(epoch, lr, steps, lossSum / seen, (double)correct / seen, Genotype.Derive(Network));
    }

    /// <summary>
    /// Writes everything a resumed search needs — the network's state (weights, BatchNorm statistics, α), both
    /// optimisers' state, the epochs done and their history, the space's name — to <paramref name="path"/> atomically.
    /// </summary>
    public void SaveCheckpoint(string path) => SearchCheckpoint.Write(path, this, _sgd, _architect.Optimizer);

    /// <summary>Continues from a checkpoint written by <see cref="SaveCheckpoint"/> of a search of the same space and network.</summary>
    /// <exception cref="InvalidDataException">The file is not a search checkpoint, or of another space or network shape.</exception>
    public void RestoreCheckpoint(string path)
    {
        var restored = SearchCheckpoint.Restore(path, this, _sgd, _architect.Optimizer);
        EpochsDone = restored.Count;
        _history.Clear();
        _history.AddRange(restored);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _architect.Dispose();
        _sgd.Dispose();
    }
}
