using System.Globalization;
using System.Text.Json;
using MobileNeXt.Detection;
using MobileNeXt.Detection.Inference;
using MobileNeXt.Interop;
using MobileNeXt.Tests.Shared;
using SkiaSharp;

namespace MobileNeXt.Cli.Tests.Commands;

/// <summary><c>mobilenext detect</c> against the library's ObjectDetector, and <c>mobilenext compare</c> end to end.</summary>
public class DetectAndCompareCommandTests
{
    [Fact]
    public void Should_print_write_and_draw_the_detections_the_library_finds()
    {
        using var folder = new TempFolder();
        // An untrained 10-class detector (MobileNeXt-0.35 backbone): what matters is that the command finds what the library finds.
        TorchSharp.torch.manual_seed(11);
        using var model = SsdLite.CreateMobileNeXt(new SsdLiteOptions { NumClasses = 11 }, width: 0.35);
        string weights = folder.Combine("detector.pth");
        ModelWeights.SavePyTorch(model, weights);
        string image = folder.Combine("scene.png");
        using (var bitmap = TestImages.FromFunction(240, 180, (x, y) => new SKColor((byte)x, (byte)y, (byte)(x ^ y))))
            TestImages.Save(bitmap, image);

        var result = Cli.Run("detect", image, "-w", weights, "--width", "0.35", "--labels", "fashion", "--score", "0.05", "-o", folder.Combine("out")).ShouldSucceed();

        using var detector = new ObjectDetector(model, MobileNeXt.Training.Data.FashionMnistDataset.ClassNames, new MobileNeXt.Detection.Boxes.PostProcessingOptions { ScoreThreshold = 0.05 });
        var expected = detector.Detect(image);
        result.Stdout.Should().Contain($"scene.png (240×180): {expected.Count} objects");
        using var json = JsonDocument.Parse(File.ReadAllText(folder.Combine("out", "detections.json")));
        var found = json.RootElement[0].GetProperty("detections").EnumerateArray().ToList();
        found.Should().HaveCount(expected.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            found[i].GetProperty("name").GetString().Should().Be(expected[i].Name);
            found[i].GetProperty("score").GetSingle().Should().BeApproximately(expected[i].Score, 1e-5f);
            found[i].GetProperty("box")[0].GetSingle().Should().BeApproximately(expected[i].X1, 1e-2f);
        }
        using var drawn = SKBitmap.Decode(folder.Combine("out", "scene.png"));
        (drawn.Width, drawn.Height).Should().Be((240, 180));
    }

    [Fact]
    public void Should_name_a_bad_detect_input()
    {
        using var folder = new TempFolder();
        Cli.Run("detect", folder.Combine("none.png"), "-w", folder.Combine("none.pth")).ShouldFailWith(1, "*none.pth*");
        Cli.Run("detect", "x.png", "-w", "w.pth", "--backbone", "resnet").ShouldFailWith(2, "*resnet*");
    }

    [Fact]
    public void Should_compare_two_networks_with_one_recipe_and_resume_without_training_again()
    {
        using var folder = new TempFolder();
        string[] args = ["compare", "--models", "mobilenext_035,mobilenext_035:a=1/2", "--data", "synthetic", "--preset", "fashion-mnist",
            "--epochs", "1", "--warmup-epochs", "0", "-b", "128", "-o", folder.Path];
        var first = Cli.Run(args).ShouldSucceed();
        var rows = first.Stdout.Split('\n').Where(l => l.StartsWith("| mobilenext", StringComparison.Ordinal)).ToList();
        rows.Should().HaveCount(2);
        // α changes the shortcut, not the weights or the convs (Sec. 3.3): same params and MACs in both rows.
        rows[0].Split('|')[4].Should().Be(rows[1].Split('|')[4]);
        rows[0].Split('|')[5].Should().Be(rows[1].Split('|')[5]);
        foreach (var file in new[] { "comparison.md", "comparison.json", "accuracy_vs_macs.png", "accuracy_vs_latency.png", "curves.png" })
            File.Exists(Path.Combine(folder.Path, file)).Should().BeTrue(file);

        var written = File.GetLastWriteTimeUtc(Path.Combine(folder.Path, "mobilenext_035", "last.pth"));
        var second = Cli.Run(args).ShouldSucceed();
        File.GetLastWriteTimeUtc(Path.Combine(folder.Path, "mobilenext_035", "last.pth")).Should().Be(written, "finished networks are not trained again");
        second.Stdout.Split('\n').Where(l => l.StartsWith("| mobilenext", StringComparison.Ordinal)).Should().Equal(rows);
    }

    [Fact]
    public void Should_name_a_bad_compare_input()
    {
        Cli.Run("compare", "--models", "mobilenext_035:x=1", "--data", "synthetic").ShouldFailWith(1, "'x' in 'mobilenext_035:x=1' is not a model setting*");
        Cli.Run("compare", "--models", "mobilenext_035", "--data", "synthetic", "--preset", "nope").ShouldFailWith(1, "Unknown preset 'nope'*");
    }
}
