using MobileNeXt.Models;
using MobileNeXt.Training.Recipes;

namespace MobileNeXt.Training.Tests.Training;

public class ThreadBudgetTests
{
    // mobilenext_035 has 75,141,032 MACs at 224² (architecture.md); at 32² that is about 1/49 of it: 1.5 M per image,
    // 98 M per batch of 64, far below the 1 G "small" line. mobilenext_100 at 224², batch 32: 32 × 311,342,592 ≈ 10 G.
    [Theory]
    [InlineData(2, 1, 2, 1)] // the 32² synthetic run on 2 cores: one thread beside two workers would still oversubscribe; 1 is the floor
    [InlineData(2, 1, 1, 1)] // 2 cores, 1 worker: 1 thread
    [InlineData(8, 1, 2, 6)] // 8 cores, 2 workers: 6
    [InlineData(8, 2, 2, 2)] // two ranks of 4 cores each, 2 workers each: 2
    public void Should_leave_a_core_to_each_data_worker_when_the_network_is_small(int cores, int ranks, int workers, int expected)
    {
        using var model = ModelRegistry.Create("mobilenext_035", new ModelCreateOptions { NumClasses = 10 });
        var options = new TrainingOptions { Model = "mobilenext_035", InputSize = 32, BatchSize = 64, Workers = workers };
        Trainer.DefaultThreads(model, options, cores, ranks).Should().Be(expected);
    }

    [Theory]
    [InlineData(2, 1, 2)]
    [InlineData(8, 2, 4)] // the process's share only: the step is compute-bound and the workers mostly wait
    public void Should_give_a_compute_bound_network_the_process_share_of_the_cores(int cores, int ranks, int expected)
    {
        using var model = ModelRegistry.Create("mobilenext_100");
        var options = new TrainingOptions { Model = "mobilenext_100", InputSize = 224, BatchSize = 32, Workers = 1 };
        Trainer.DefaultThreads(model, options, cores, ranks).Should().Be(expected);
    }
}
