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
        var sampler = new EpochSampler(dataset.Count, new EpochSamplerOptions { Shuffle = false, Rank = communicator.Rank, WorldSize = communicator.Size });
        var loader = new ReadAheadLoader(dataset, preprocessing, sampler, new ReadAheadLoaderOptions { BatchSize = batchSize, Workers = workers, DropLast = false });
        int k = Math.Min(5, dataset.Classes.Count);
        double correct1 = 0, correct5 = 0, count = 0;
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
                var logits = model.call(images);
                var topk = logits.topk(k, dim: 1).indexes;
                var hits = topk.eq(labels.unsqueeze(1));
                correct1 += hits[.., 0].sum().item<long>();
                correct5 += hits.any(1).sum().item<long>();
                count += b.Count;
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        using var totals = tensor(new[] { correct1, correct5, count });
        communicator.AllReduceSum(totals);
        var t = totals.data<double>().ToArray();
        return t[2] == 0 ? new(0, 0, 0) : new(100 * t[0] / t[2], 100 * t[1] / t[2], (long)t[2]);
    }
}
