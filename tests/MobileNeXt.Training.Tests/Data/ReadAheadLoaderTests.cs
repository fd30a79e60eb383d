using MobileNeXt.Training.Data;
using SkiaSharp;
using TorchSharp;

namespace MobileNeXt.Training.Tests.Data;

public class ReadAheadLoaderTests
{
    private static readonly SyntheticShapesDataset Shapes = new(new SyntheticShapesOptions { Count = 60, ImageSize = 40, Seed = 1 });
    private static readonly InceptionTrainTransform Augment = new(new TrainAugmentationOptions { Size = 32 });

    private static ReadAheadLoader Loader(IImageDataset dataset, int workers, int batchSize = 8, bool dropLast = false, int rank = 0, int worldSize = 1) =>
        new(dataset, Augment, new EpochSampler(dataset.Count, new EpochSamplerOptions { Seed = 11, Rank = rank, WorldSize = worldSize }),
            new ReadAheadLoaderOptions { BatchSize = batchSize, Workers = workers, DropLast = dropLast, Seed = 5 });

    /// <summary>Every batch of an epoch as plain arrays (tensors are disposed as they are read).</summary>
    private static List<(float[] Images, long[] Labels, int[] Indices)> Epoch(ReadAheadLoader loader, int epoch)
    {
        var result = new List<(float[], long[], int[])>();
        foreach (var batch in loader.ReadEpoch(epoch))
            using (batch)
                result.Add((batch.Images.data<float>().ToArray(), batch.Labels.data<long>().ToArray(), batch.Indices.ToArray()));
        return result;
    }

    [Fact]
    public void Should_yield_the_same_batches_for_one_and_two_workers_and_for_a_second_run()
    {
        var one = Epoch(Loader(Shapes, workers: 1), 3);
        var two = Epoch(Loader(Shapes, workers: 2), 3);
        var again = Epoch(Loader(Shapes, workers: 2), 3);
        one.Should().HaveCount(8); // ⌈60 / 8⌉
        for (int b = 0; b < one.Count; b++)
        {
            two[b].Indices.Should().Equal(one[b].Indices);
            two[b].Labels.Should().Equal(one[b].Labels);
            two[b].Images.Should().Equal(one[b].Images, $"batch {b} must not depend on the worker count");
            again[b].Images.Should().Equal(one[b].Images, $"batch {b} must not depend on the run");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Should_start_mid_epoch_with_the_same_batches_and_decode_none_before(int workers)
    {
        var whole = Epoch(Loader(Shapes, workers), 2);
        var counting = new CountingDataset(Shapes);
        var tail = new List<ImageBatch>();
        try
        {
            foreach (var batch in Loader(counting, workers).ReadEpoch(2, firstBatch: 5)) tail.Add(batch);
            tail.Select(b => b.BatchIndex).Should().Equal(5, 6, 7);
            for (int k = 0; k < tail.Count; k++)
            {
                tail[k].Indices.Should().Equal(whole[5 + k].Indices);
                tail[k].Images.data<float>().ToArray().Should().Equal(whole[5 + k].Images, $"batch {5 + k} must not depend on where the read started");
            }
            counting.Loaded.Should().BeEquivalentTo(whole.Skip(5).SelectMany(b => b.Indices), "the first five batches are not decoded");
        }
        finally
        {
            foreach (var b in tail) b.Dispose();
        }
        var beyond = () => Loader(Shapes, workers).ReadEpoch(0, firstBatch: 9);
        beyond.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*0 … 8*");
    }

    private sealed class CountingDataset(IImageDataset inner) : IImageDataset
    {
        private readonly System.Collections.Concurrent.ConcurrentBag<int> _loaded = [];
        public IReadOnlyCollection<int> Loaded => _loaded;
        public int Count => inner.Count;
        public IReadOnlyList<string> Classes => inner.Classes;
        public int GetLabel(int index) => inner.GetLabel(index);
        public SKBitmap? LoadImage(int index)
        {
            _loaded.Add(index);
            return inner.LoadImage(index);
        }
    }

    [Fact]
    public void Should_follow_the_sampler_order_with_matching_labels_and_shapes()
    {
        var loader = Loader(Shapes, workers: 2);
        var order = new EpochSampler(Shapes.Count, new EpochSamplerOptions { Seed = 11 }).ShardIndices(0);
        int position = 0;
        foreach (var batch in loader.ReadEpoch(0))
        {
            using (batch)
            {
                int n = batch.Count;
                batch.Images.shape.Should().Equal(n, 3, 32, 32);
                batch.Images.dtype.Should().Be(torch.ScalarType.Float32);
                batch.Labels.dtype.Should().Be(torch.ScalarType.Int64);
                batch.Indices.Should().Equal(order.Skip(position).Take(n));
                batch.Labels.data<long>().ToArray().Should().Equal(batch.Indices.Select(i => (long)Shapes.GetLabel(i)));
                // Row r is sample Indices[r] transformed with Random(mix(loader seed 5, epoch 0, sample index)).
                var images = batch.Images.data<float>().ToArray();
                for (int r = 0; r < n; r++)
                {
                    var expected = new float[3 * 32 * 32];
                    using (var image = Shapes.LoadImage(batch.Indices[r]))
                        Augment.Apply(image, SeedMixer.CreateRandom(5, 0, batch.Indices[r]), expected);
                    images.AsSpan(r * expected.Length, expected.Length).ToArray().Should().Equal(expected);
                }
                position += n;
            }
        }
        position.Should().Be(60);
    }

    [Fact]
    public void Should_change_order_and_augmentation_with_the_epoch()
    {
        var loader = Loader(Shapes, workers: 2);
        var e0 = Epoch(loader, 0);
        var e1 = Epoch(loader, 1);
        e0.SelectMany(b => b.Indices).Should().NotEqual(e1.SelectMany(b => b.Indices));
        // The same sample is augmented differently in another epoch: RNG seeded from (seed, epoch, index).
        int sample = e0[0].Indices[0];
        var inE1 = e1.SelectMany(b => Enumerable.Range(0, b.Indices.Length).Select(r => (b, r))).First(x => x.b.Indices[x.r] == sample);
        const int per = 3 * 32 * 32;
        e0[0].Images.AsSpan(0, per).ToArray().Should().NotEqual(inE1.b.Images.AsSpan(inE1.r * per, per).ToArray());
    }

    [Fact]
    public void Should_drop_the_last_partial_batch_only_when_asked()
    {
        Loader(Shapes, workers: 2, dropLast: false).BatchesPerEpoch.Should().Be(8); // ⌈60 / 8⌉
        var dropped = Loader(Shapes, workers: 2, dropLast: true);
        dropped.BatchesPerEpoch.Should().Be(7);                                     // ⌊60 / 8⌋
        Epoch(dropped, 0).Should().HaveCount(7).And.OnlyContain(b => b.Indices.Length == 8);
    }

    [Fact]
    public void Should_give_every_rank_the_same_number_of_full_batches_with_drop_last()
    {
        // 60 samples over 7 ranks: shards of 9 or 8, so ⌊8 / 4⌋ = 2 batches on every rank; together disjoint.
        var perRank = Enumerable.Range(0, 7).Select(r => Epoch(Loader(Shapes, workers: 2, batchSize: 4, dropLast: true, rank: r, worldSize: 7), 1)).ToArray();
        perRank.Should().OnlyContain(batches => batches.Count == 2);
        perRank.SelectMany(b => b).SelectMany(b => b.Indices).Should().OnlyHaveUniqueItems();
    }

    [Fact]
    public void Should_reject_a_batch_larger_than_a_shard_with_drop_last_and_allow_one_partial_batch_without()
    {
        var act = () => Loader(Shapes, workers: 2, batchSize: 61, dropLast: true);
        act.Should().Throw<ArgumentException>().WithMessage("*BatchSize 61 is larger than the 60 samples per rank*DropLast = false*");
        var partial = Epoch(Loader(Shapes, workers: 2, batchSize: 100, dropLast: false), 0);
        partial.Should().ContainSingle().Which.Indices.Should().HaveCount(60);
    }

    [Fact]
    public void Should_leave_skipped_samples_out_of_their_batch()
    {
        var dataset = new FlakyDataset(Shapes, skip: [5, 6], fail: []);
        var all = Epoch(new ReadAheadLoader(dataset, Augment, new EpochSampler(60, new EpochSamplerOptions { Shuffle = false }),
            new ReadAheadLoaderOptions { BatchSize = 8, Workers = 2 }), 0);
        all[0].Indices.Should().Equal(0, 1, 2, 3, 4, 7);
        all[0].Images.Length.Should().Be(6 * 3 * 32 * 32);
        all.Sum(b => b.Indices.Length).Should().Be(58);
    }

    [Fact]
    public void Should_rethrow_a_worker_error_to_the_consumer()
    {
        var dataset = new FlakyDataset(Shapes, skip: [], fail: [20]);
        var loader = new ReadAheadLoader(dataset, Augment, new EpochSampler(60, new EpochSamplerOptions { Shuffle = false }),
            new ReadAheadLoaderOptions { BatchSize = 8, Workers = 2 });
        var act = () => Epoch(loader, 0);
        act.Should().Throw<InvalidOperationException>().WithMessage("sample 20 failed");
    }

    [Fact]
    public async Task Should_read_ahead_exactly_each_workers_channel_and_current_batch_then_wait()
    {
        // From the design: while the consumer holds batch 0, each of W = 2 workers fills its channel
        // (P = 1 batch) and builds one more, then blocks: 4 · (1 + 2 · (1 + 1)) = 20 samples of the 60, and no more.
        var dataset = new FlakyDataset(Shapes, skip: [], fail: []);
        var loader = new ReadAheadLoader(dataset, Augment, new EpochSampler(60),
            new ReadAheadLoaderOptions { BatchSize = 4, Workers = 2, PrefetchPerWorker = 1 });
        using var enumerator = loader.ReadEpoch(0).GetEnumerator();
        enumerator.MoveNext().Should().BeTrue();
        enumerator.Current.Dispose();
        for (int waited = 0; dataset.Loads < 20 && waited < 10_000; waited += 20)
            await Task.Delay(20);
        await Task.Delay(300); // a worker that did not block would go on loading here
        dataset.Loads.Should().Be(20);
    }

    /// <summary>Wraps a dataset: skips some indices (returns null), throws on others, counts loads.</summary>
    private sealed class FlakyDataset(IImageDataset inner, int[] skip, int[] fail) : IImageDataset
    {
        private int _loads;
        public int Loads => Volatile.Read(ref _loads);
        public int Count => inner.Count;
        public IReadOnlyList<string> Classes => inner.Classes;
        public int GetLabel(int index) => inner.GetLabel(index);

        public SKBitmap? LoadImage(int index)
        {
            Interlocked.Increment(ref _loads);
            if (fail.Contains(index))
                throw new InvalidOperationException($"sample {index} failed");
            return skip.Contains(index) ? null : inner.LoadImage(index);
        }
    }
}
