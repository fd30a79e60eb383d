using MobileNeXt.Export;
using MobileNeXt.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Core.Tests.Export;

/// <summary>Bad input to the exporter gets one clear .NET exception naming the problem.</summary>
public class OnnxExportBadInputTests
{
    private static readonly Lazy<ImageClassifier> Model = new(() => ModelRegistry.Create("mobilenext_035", new ModelCreateOptions { NumClasses = 10 }));

    [Fact]
    public void Should_name_a_missing_folder_and_leave_nothing_behind()
    {
        string folder = Path.Combine(TestSupport.TempDir(), "missing");
        var act = () => OnnxExporter.Export(Model.Value, Path.Combine(folder, "model.onnx"));
        act.Should().Throw<DirectoryNotFoundException>().WithMessage($"*'{folder}' does not exist*");
        Directory.Exists(folder).Should().BeFalse();
    }

    [Fact]
    public void Should_name_a_folder_that_cannot_be_written()
    {
        if (!OperatingSystem.IsLinux()) return;
        // sysfs refuses new files to every user, root included (a chmod'ed temp folder would not stop root).
        var act = () => OnnxExporter.Export(Model.Value, "/sys/model.onnx");
        act.Should().Throw<UnauthorizedAccessException>().WithMessage("Cannot write '/sys/model.onnx'*Choose a folder you can write to*");
    }

    [Fact]
    public void Should_reject_an_input_size_below_32()
    {
        using var stream = new MemoryStream();
        var act = () => OnnxExporter.Export(Model.Value, stream, new OnnxExportOptions { InputSize = 16 });
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*InputSize must be at least 32*");
        var narrow = () => OnnxExporter.Export(Model.Value, stream, new OnnxExportOptions { InputHeight = 224, InputWidth = 24 });
        narrow.Should().Throw<ArgumentOutOfRangeException>().WithMessage("InputWidth must be at least 32*got 24*");
        var unused = () => new OnnxExportOptions { InputSize = 16, InputHeight = 64, InputWidth = 96 }.Validate();
        unused.Should().NotThrow("InputSize is not used once both sides are given");
    }

    [Fact]
    public void Should_name_a_module_it_cannot_export()
    {
        using var model = new NetWithGelu();
        using var stream = new MemoryStream();
        var act = () => OnnxExporter.Export(model, stream);
        act.Should().Throw<NotSupportedException>().WithMessage("*'features.1'*GELU*");
    }

    /// <summary>A classifier whose backbone holds a module the exporter does not know (already "fused": no BatchNorm).</summary>
    private sealed class NetWithGelu : ImageClassifier
    {
        public NetWithGelu() : base(nameof(NetWithGelu), fused: true) =>
            Build(nn.Sequential(nn.Conv2d(3, 8, 3, padding: 1), nn.GELU()), 8, 10, 0.2, []);

        public override int InChannels => 3;

        public override IReadOnlyList<FeatureTap> FeatureTaps => [];

        protected override ImageClassifier CreateFusedShell() => throw new NotSupportedException();
    }
}
