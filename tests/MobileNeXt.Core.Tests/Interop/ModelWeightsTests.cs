using System.Globalization;
using MobileNeXt.Architecture;
using MobileNeXt.Interop;
using MobileNeXt.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Core.Tests.Interop;

public class ModelWeightsTests
{
    private static MobileNeXtNet Small(int seed)
    {
        torch.manual_seed(seed);
        return new MobileNeXtNet(new MobileNeXtOptions { Width = 0.35, NumClasses = 10 });
    }

    private static void ShouldEqual(nn.Module a, nn.Module b)
    {
        var sa = a.state_dict();
        var sb = b.state_dict();
        sa.Keys.Should().BeEquivalentTo(sb.Keys);
        foreach (var (key, t) in sa)
            t.eq(sb[key]).all().item<bool>().Should().BeTrue(key);
    }

    [Theory]
    [InlineData("weights.pth")]
    [InlineData("weights.dat")]
    public void Should_round_trip_both_formats_exactly(string file)
    {
        var path = Path.Combine(TestSupport.TempDir(), file);
        using var source = Small(1);
        using var target = Small(2);
        ModelWeights.Save(source, path);
        ModelWeights.Load(target, path);
        ShouldEqual(source, target);
        target.parameters().Should().OnlyContain(p => p.requires_grad);
    }

    [Fact]
    public void Should_write_pytorch_files_that_pytorch_loads()
    {
        var path = Path.Combine(TestSupport.TempDir(), "weights.pth");
        using var model = Small(3);
        ModelWeights.SavePyTorch(model, path);
        string output = TestSupport.Python("""
            import sys, torch
            sd = torch.load(sys.argv[1], map_location="cpu")
            total = sum(float(v.double().sum()) for v in sd.values() if v.is_floating_point())
            print(len(sd), sd["features.0.0.weight"].shape[0], repr(total), sd["features.0.1.num_batches_tracked"].dtype)
            """, path);
        var parts = output.Trim().Split(' ');
        var sd = model.state_dict();
        parts[0].Should().Be(sd.Count.ToString(CultureInfo.InvariantCulture));
        parts[1].Should().Be("16");
        double expected = sd.Values.Where(t => t.is_floating_point()).Sum(t => t.to(ScalarType.Float64).sum().item<double>());
        double.Parse(parts[2], CultureInfo.InvariantCulture).Should().BeApproximately(expected, 1e-9 * Math.Max(1, Math.Abs(expected)));
        parts[3].Should().Be("torch.int64");
    }

    [Fact]
    public void Should_read_a_training_checkpoint_with_module_prefix_and_ema()
    {
        // The shape of a training-framework checkpoint (architecture.md): weights under state_dict and state_dict_ema,
        // keys prefixed "module." by DistributedDataParallel, next to epoch, arch and an argparse Namespace.
        var dir = TestSupport.TempDir();
        var plain = Path.Combine(dir, "plain.pth");
        var checkpoint = Path.Combine(dir, "checkpoint.pth.tar");
        using var model = Small(4);
        ModelWeights.SavePyTorch(model, plain);
        TestSupport.Python("""
            import sys, argparse, torch
            sd = torch.load(sys.argv[1])
            ema = {k: (v * 2 if v.is_floating_point() else v) for k, v in sd.items()}
            torch.save({"epoch": 3, "arch": "mobilenext", "args": argparse.Namespace(lr=0.1, model="mobilenext_035"),
                        "state_dict": {"module." + k: v for k, v in sd.items()},
                        "state_dict_ema": {"module." + k: v for k, v in ema.items()}, "version": 2}, sys.argv[2])
            """, plain, checkpoint);

        using var loaded = Small(5);
        ModelWeights.Load(loaded, checkpoint);
        ShouldEqual(model, loaded);

        using var ema = Small(6);
        ModelWeights.Load(ema, checkpoint, CheckpointWeights.Ema);
        var expected = model.state_dict()["features.0.0.weight"] * 2;
        TestSupport.MaxAbsDiff(ema.state_dict()["features.0.0.weight"], expected).Should().Be(0f);
    }

    [Fact]
    public void Should_say_when_a_checkpoint_has_no_ema_weights()
    {
        using var model = new MobileNeXtNet(new MobileNeXtOptions { Width = 0.5 });
        var act = () => ModelWeights.Load(model, Path.Combine(TestSupport.ReferenceDir, "checkpoint.pth.tar"), CheckpointWeights.Ema);
        act.Should().Throw<InvalidDataException>().WithMessage("*no 'state_dict_ema' entry*state_dict*");
    }

    [Fact]
    public void Should_overwrite_a_larger_file_without_corrupting_it()
    {
        // torchsharp-notes §5 trap C: an overwrite that does not truncate leaves a corrupt archive.
        var path = Path.Combine(TestSupport.TempDir(), "weights.pth");
        using var big = new MobileNeXtNet(new MobileNeXtOptions { Width = 1.0 });
        ModelWeights.SavePyTorch(big, path);
        using var small = Small(7);
        ModelWeights.SavePyTorch(small, path);
        using var target = Small(8);
        ModelWeights.Load(target, path);
        ShouldEqual(small, target);
    }

    [Fact]
    public void Should_keep_the_previous_file_when_a_save_fails_midway()
    {
        var dir = TestSupport.TempDir();
        var path = Path.Combine(dir, "weights.pth");
        using var model = Small(9);
        ModelWeights.SavePyTorch(model, path);
        var before = File.ReadAllBytes(path);

        var act = () => AtomicFile.Write(path, stream =>
        {
            stream.Write(new byte[1000]);
            throw new IOException("simulated crash during the save");
        });
        act.Should().Throw<IOException>().WithMessage("simulated crash*");
        File.ReadAllBytes(path).Should().Equal(before);
        Directory.GetFiles(dir).Should().Equal([path], "the temporary file is removed");
    }

    [Fact]
    public void Should_say_when_the_output_folder_does_not_exist()
    {
        using var model = Small(10);
        var act = () => ModelWeights.SavePyTorch(model, "/nonexistent-folder/weights.pth");
        act.Should().Throw<DirectoryNotFoundException>().WithMessage("*'/nonexistent-folder' does not exist*");
    }
}
