using MobileNeXt.Training.Data;

namespace MobileNeXt.Training.Tests.Data;

public class EpochSamplerTests
{
    [Fact]
    public void Should_give_each_epoch_a_permutation_of_every_index()
    {
        var sampler = new EpochSampler(1000, new EpochSamplerOptions { Seed = 3 });
        sampler.EpochOrder(0).Should().BeEquivalentTo(Enumerable.Range(0, 1000));
        sampler.EpochOrder(0).Should().NotEqual(Enumerable.Range(0, 1000));
    }

    [Fact]
    public void Should_repeat_an_epoch_for_the_same_seed_and_change_with_the_epoch_or_the_seed()
    {
        var a = new EpochSampler(1000, new EpochSamplerOptions { Seed = 3 });
        var b = new EpochSampler(1000, new EpochSamplerOptions { Seed = 3 });
        var c = new EpochSampler(1000, new EpochSamplerOptions { Seed = 4 });
        a.EpochOrder(5).Should().Equal(b.EpochOrder(5));
        a.EpochOrder(5).Should().NotEqual(a.EpochOrder(6)); // TorchSharp's shuffler would repeat epoch 5 here
        a.EpochOrder(5).Should().NotEqual(c.EpochOrder(5));
    }

    [Fact]
    public void Should_keep_dataset_order_without_shuffling() =>
        new EpochSampler(10, new EpochSamplerOptions { Shuffle = false }).EpochOrder(3).Should().Equal(Enumerable.Range(0, 10));

    [Theory]
    [InlineData(103, 4)]
    [InlineData(100, 4)]
    [InlineData(7, 7)]
    [InlineData(50, 1)]
    public void Should_split_an_epoch_into_disjoint_shards_that_cover_it(int size, int worldSize)
    {
        var shards = Enumerable.Range(0, worldSize)
            .Select(r => new EpochSampler(size, new EpochSamplerOptions { Seed = 9, Rank = r, WorldSize = worldSize }))
            .ToArray();
        var indices = shards.Select(s => s.ShardIndices(2)).ToArray();
        var all = indices.SelectMany(i => i).ToArray();
        all.Should().OnlyHaveUniqueItems();                                // disjoint
        all.Should().BeEquivalentTo(Enumerable.Range(0, size));            // covering
        indices.Select(i => i.Length).Should().OnlyContain(n => n == size / worldSize || n == size / worldSize + 1);
        for (int r = 0; r < worldSize; r++)
            indices[r].Length.Should().Be(shards[r].ShardSize);
        // Rank r takes positions r, r + W, … of the common epoch order (DistributedSampler's interleaving).
        var order = shards[0].EpochOrder(2);
        indices[worldSize - 1][0].Should().Be(order[worldSize - 1]);
    }

    [Fact]
    public void Should_reject_a_rank_outside_the_world_and_too_small_a_dataset()
    {
        var badRank = () => new EpochSampler(10, new EpochSamplerOptions { Rank = 2, WorldSize = 2 });
        badRank.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*Rank must lie in [0, 1]*");
        var tooSmall = () => new EpochSampler(3, new EpochSamplerOptions { WorldSize = 4 });
        tooSmall.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*fewer processes or more data*");
    }
}
