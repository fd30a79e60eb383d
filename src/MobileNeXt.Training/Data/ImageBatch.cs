using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Training.Data;

/// <summary>One batch from <see cref="ReadAheadLoader"/>. Dispose it (or let a dispose scope do it) when the step is done.</summary>
public sealed class ImageBatch : ITrainingBatch
{
    internal ImageBatch(int epoch, int batchIndex, Tensor images, Tensor labels, int[] indices)
    {
        Epoch = epoch;
        BatchIndex = batchIndex;
        Images = images;
        Labels = labels;
        Indices = indices;
    }

    /// <summary>The epoch it belongs to.</summary>
    public int Epoch { get; }

    /// <summary>Position of the batch in this rank's epoch, from 0.</summary>
    public int BatchIndex { get; }

    /// <summary>N×3×H×W float32, normalised.</summary>
    public Tensor Images { get; }

    /// <summary>N labels, int64 (what cross-entropy expects).</summary>
    public Tensor Labels { get; }

    /// <summary>The dataset index of each row, in row order.</summary>
    public IReadOnlyList<int> Indices { get; }

    /// <summary>Rows in the batch: the batch size, less the last batch's shortfall and any samples the dataset skipped.</summary>
    public int Count => Indices.Count;

    /// <summary>
    /// The images and labels on <paramref name="device"/>: these tensors themselves on the CPU, otherwise copies made in
    /// the current dispose scope (batches are decoded on the CPU).
    /// </summary>
    public (Tensor Images, Tensor Labels) On(Device device) =>
        device.type == DeviceType.CPU ? (Images, Labels) : (Images.to(device), Labels.to(device));

    /// <inheritdoc />
    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}
