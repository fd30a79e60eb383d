using MobileNeXt.Training.Distributed;
using MobileNeXt.Training.Recipes;
using TorchSharp;

namespace MobileNeXt.Training.Tests.Training;

public sealed class TrainingDeviceTests
{
    [Theory]
    [InlineData("cpu", true)]
    [InlineData(" CPU ", true)]
    [InlineData("cuda", true)]
    [InlineData("cuda:0", true)]
    [InlineData("cuda:12", true)]
    [InlineData("gpu", false)]
    [InlineData("cuda:", false)]
    [InlineData("cuda:-1", false)]
    [InlineData("cuda:x", false)]
    [InlineData("mps", false)]
    [InlineData("", false)]
    public void Accepts_cpu_cuda_and_cuda_N_only(string text, bool expected) =>
        TrainingDevice.IsWellFormed(text).Should().Be(expected);

    [Fact]
    public void Options_name_the_device_setting_when_it_is_malformed()
    {
        var act = () => (RecipePresets.Paper with { Device = "gpu" }).Validate();
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*Device must be cpu, cuda or cuda:N*got gpu*");
    }

    [Fact]
    public void Cpu_resolves_to_the_cpu_and_unknown_text_is_an_argument_error()
    {
        TrainingDevice.Resolve("cpu").type.Should().Be(DeviceType.CPU);
        var act = () => TrainingDevice.Resolve("tpu");
        act.Should().Throw<ArgumentException>().WithMessage("Unknown device 'tpu'*");
    }

    [Fact]
    public void A_GPU_resolves_to_one_that_exists_or_says_what_to_install()
    {
        using var comm = new SingleProcessCommunicator();
        var act = () => TrainingDevice.Resolve("cuda", comm);
        if (torch.cuda.is_available())
        {
            act().type.Should().Be(DeviceType.CUDA);
            act().index.Should().Be(0, "a single process takes the first GPU");
            var beyond = () => TrainingDevice.Resolve($"cuda:{torch.cuda.device_count()}");
            beyond.Should().Throw<ArgumentException>().WithMessage("*sees*");
        }
        else
        {
            act.Should().Throw<NotSupportedException>().WithMessage("Device 'cuda' (--device, TrainingOptions.Device) asks for a CUDA GPU*libtorch-cuda-*--device cpu.");
        }
    }
}
