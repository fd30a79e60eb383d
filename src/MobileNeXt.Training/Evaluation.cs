using MobileNeXt.Inference;
using MobileNeXt.Training.Data;
using MobileNeXt.Training.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Training;

/// <summary>Top-1 and top-5 accuracy of a model on a dataset.</summary>
/// <param name="Top1">Top-1 accuracy, %.</param>
/// <param name="Top5">Top-5 accuracy, % (top-k with k = classes when there are fewer than five).</param>
/// <param name="Samples">Samples evaluated (over all processes).</param>
public sealed record EvaluationResult(double Top1, double Top5, long Samples);

/// <summary>Evaluation with <see cref="EvalPreprocessing"/>, the one preprocessing the classifier uses too.</summary>
public static class Evaluation
{
    /// <summary>
    /// Evaluates <paramref name="model"/> (switched to eval mode) on <paramref name="dataset"/>; with several processes
    /// each evaluates its shard and the counts are summed through <paramref name="communicator"/>. Batches are decoded on
    /// the CPU and moved to the device of the model's parameters; with <paramref name="channelsLast"/> (the default) they
    /// are handed over with channels-last strides (<see cref="MemoryLayout"/>), the faster layout for libtorch's CPU kernels.
    /// </summary>
    public static EvaluationResult Evaluate(nn.Module<Tensor, Tensor> model, IImageDataset dataset, EvalPreprocessing preprocessing,
        int batchSize = 64, int workers = 2, ICommunicator? communicator = null, CancellationToken cancellationToken = default,
        bool channelsLast = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(preprocessing);
        communicator ??= new SingleProcessCommunicator();
        int k = Math.Min(5, dataset.Classes.Count);
        double correct1 = 0, correct5 = 0, count = 0;
        ForEachBatch(model, dataset, preprocessing, batchSize, workers, channelsLast, communicator.Rank, communicator.Size, cancellationToken, (logits, labels, _) =>
        {
            var hits = logits.topk(k, dim: 1).indexes.eq(labels.unsqueeze(1));
            correct1 += hits[.., 0].sum().item<long>();
            correct5 += hits.any(1).sum().item<long>();
            count += labels.shape[0];
        });
        using var totals = tensor(new[] { correct1, correct5, count });
        communicator.AllReduceSum(totals);
        var t = totals.data<double>().ToArray();
        return t[2] == 0 ? new(0, 0, 0) : new(100 * t[0] / t[2], 100 * t[1] / t[2], (long)t[2]);
    }

    /// <summary>
    /// The top-1 class <paramref name="model"/> predicts for every sample of <paramref name="dataset"/>, in dataset
    /// order, with the labels: for comparing two models image by image (e.g. FP32 and INT8 agreement).
    /// </summary>
    public static (int[] Predicted, int[] Labels) Predict(nn.Module<Tensor, Tensor> model, IImageDataset dataset, EvalPreprocessing preprocessing,
        int batchSize = 64, int workers = 2, bool channelsLast = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(preprocessing);
        var predicted = new int[dataset.Count];
        var labels = new int[dataset.Count];
        ForEachBatch(model, dataset, preprocessing, batchSize, workers, channelsLast, 0, 1, cancellationToken, (logits, truth, indices) =>
        {
            var top = logits.argmax(1).to(ScalarType.Int32, CPU).data<int>().ToArray();
            var y = truth.to(ScalarType.Int32, CPU).data<int>().ToArray();
            for (int i = 0; i < indices.Count; i++)
            {
                predicted[indices[i]] = top[i];
                labels[indices[i]] = y[i];
            }
        });
        return (predicted, labels);
    }

    /// <summary>
    /// Runs <paramref name="model"/> (in eval mode, without gradients) over this process's shard of
    /// <paramref name="dataset"/> in order; <paramref name="each"/> sees every batch's logits, labels and sample indices
    /// inside a dispose scope. Batches go to the device of the model's parameters.
    /// </summary>
    private static void ForEachBatch(nn.Module<Tensor, Tensor> model, IImageDataset dataset, EvalPreprocessing preprocessing, int batchSize,
        int workers, bool channelsLast, int rank, int worldSize, CancellationToken cancellationToken, Action<Tensor, Tensor, IReadOnlyList<int>> each)
    {
        var sampler = new EpochSampler(dataset.Count, new EpochSamplerOptions { Shuffle = false, Rank = rank, WorldSize = worldSize });
        var loader = new ReadAheadLoader(dataset, preprocessing, sampler, new ReadAheadLoaderOptions { BatchSize = batchSize, Workers = workers, DropLast = false });
        var device = model.parameters().FirstOrDefault()?.device ?? CPU; // batches go where the model is
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var _ = no_grad();
            foreach (var batch in loader.ReadEpoch(0, cancellationToken))
            {
                using var scope = NewDisposeScope();
                using var b = batch;
                var (images, labels) = b.On(device);
                if (channelsLast) images = MemoryLayout.ToChannelsLast(images);
                each(model.call(images), labels, b.Indices);
            }
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    /// <summary>
    /// The share, in %, of positions where <paramref name="a"/> and <paramref name="b"/> agree: top-1 accuracy when one
    /// is the labels of <see cref="Predict"/>, agreement when both are predictions of two models on the same images.
    /// </summary>
    public static double PercentEqual(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Count != b.Count) throw new ArgumentException($"The two lists differ in length ({a.Count} and {b.Count}); give one answer per image in both.", nameof(b));
        if (a.Count == 0) return 0;
        int same = 0;
        for (int i = 0; i < a.Count; i++) if (a[i] == b[i]) same++;
        return 100.0 * same / a.Count;
    }

    /// <summary>
    /// Calibration images for INT8 quantization: the first <paramref name="images"/> samples of a seeded shuffle of
    /// <paramref name="dataset"/> (use the training split, never the one you evaluate on), through the evaluation
    /// preprocessing, in batches. Each enumeration reads them again, so the calibrator can make its two passes without
    /// holding them all in memory.
    /// </summary>
    /// <exception cref="ArgumentException">The dataset holds fewer than <paramref name="minimum"/> images.</exception>
    public static IEnumerable<Tensor> CalibrationBatches(IImageDataset dataset, EvalPreprocessing preprocessing, int images = 512,
        int batchSize = 64, int workers = 2, int seed = 0, int minimum = 32)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(preprocessing);
        if (dataset.Count < minimum)
            throw new ArgumentException($"The calibration set holds {dataset.Count} images; INT8 calibration needs at least {minimum} " +
                "(256–512 is usual). Point it at a folder with more images.", nameof(dataset));
        int count = Math.Min(images, dataset.Count);
        return Batches();

        IEnumerable<Tensor> Batches()
        {
            var sampler = new EpochSampler(dataset.Count, new EpochSamplerOptions { Shuffle = true, Seed = seed });
            var subset = new SubsetDataset(dataset, sampler.EpochOrder(0)[..count]);
            var loader = new ReadAheadLoader(subset, preprocessing, new EpochSampler(count, new EpochSamplerOptions { Shuffle = false }),
                new ReadAheadLoaderOptions { BatchSize = batchSize, Workers = workers, DropLast = false });
            foreach (var batch in loader.ReadEpoch(0))
            {
                using var b = batch;
                yield return b.Images.detach().clone();
            }
        }
    }
}
