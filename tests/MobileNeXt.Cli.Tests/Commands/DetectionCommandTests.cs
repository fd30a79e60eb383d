using System.Globalization;
using System.Text.Json;
using MobileNeXt.Tests.Shared;
using MobileNeXt.Training.Checkpoints;

namespace MobileNeXt.Cli.Tests.Commands;

/// <summary>
/// One small <c>mobilenext train --task detection</c> run on the built-in scenes (16 training and 8 validation scenes of
/// 64², SSDLite on MobileNeXt-0.35, 2 epochs of batch 4), shared by the detection verbs' tests.
/// </summary>
public sealed class DetectionRun : IDisposable
{
    private readonly TempFolder _folder = new();

    public DetectionRun()
    {
        Output = _folder.Combine("detector");
        Result = Train(Output);
    }

    /// <summary>The run's command, writing to <paramref name="output"/>.</summary>
    internal static CliResult Train(string output) =>
        Cli.Run("train", "--task", "detection", "--data", "fashion-scenes:16,8", "--preset", "detection-scenes", "-m", "mobilenext_035",
            "--input-size", "64", "--epochs", "2", "-b", "4", "--threads", "1", "--workers", "1", "-o", output);

    public string Output { get; }

    internal CliResult Result { get; }

    public string LastCheckpoint => Path.Combine(Output, "last.pth");

    public string Scratch(string name) => _folder.Combine(name);

    public void Dispose() => _folder.Dispose();
}

[CollectionDefinition(Name)]
public sealed class DetectionRunCollection : ICollectionFixture<DetectionRun>
{
    public const string Name = "detection run";
}

/// <summary><c>train --task detection</c>, <c>eval &lt;detector&gt;</c>, <c>detect</c> with its checkpoint, and what bad input gets.</summary>
[Collection(DetectionRunCollection.Name)]
public class DetectionCommandTests(DetectionRun run)
{
    [Fact]
    public void Should_train_a_detector_and_report_its_map_every_epoch()
    {
        run.Result.ShouldSucceed();
        run.Result.Lines.Where(l => l.StartsWith("epoch ") && l.Contains(" done: ")).Should().HaveCount(2)
            .And.OnlyContain(l => l.Contains("mAP@0.5 ") && l.Contains("mAP@[.5:.95] ") && !l.Contains("top-1"));
        run.Result.Lines[^1].Should().StartWith("Finished at step 8;", "⌊16 / 4⌋ steps in each of 2 epochs");
        using var checkpoint = TrainingCheckpoint.Read(run.LastCheckpoint);
        (checkpoint.Task, checkpoint.Model, checkpoint.Classes.Count, checkpoint.DataSource).Should().Be(("detection", "mobilenext_035", 10, "fashion-scenes:16,8"));
        checkpoint.Options.Preset.Should().Be("detection-scenes");
        checkpoint.Options.InputSize.Should().Be(64);
    }

    [Fact]
    public void Should_train_the_same_detector_in_another_process()
    {
        // The scenes, crops and initial weights are seeded, not drawn from the per-process salted string/HashCode seeds,
        // so a resumed run and 'eval' in another process see the same data (the scenes' layout once used HashCode.Combine).
        static string[] Losses(CliResult r) => [.. r.Lines.Where(l => l.Contains(" done: ")).Select(l => l.Split("  ")[0])];
        var again = DetectionRun.Train(run.Scratch("again")).ShouldSucceed();
        Losses(again).Should().HaveCount(2).And.Equal(Losses(run.Result));
    }

    [Fact]
    public void Should_print_the_ap_of_every_class_and_the_map_the_trainer_logged()
    {
        var result = Cli.Run("eval", run.LastCheckpoint).ShouldSucceed();

        string[] garments = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];
        foreach (var garment in garments) result.Row(garment).Should().HaveCount(4);
        result.Row("mean").Should().HaveCount(4);
        string last = File.ReadAllLines(Path.Combine(run.Output, "metrics.jsonl")).Last(l => l.Length > 0);
        var logged = JsonDocument.Parse(last).RootElement.GetProperty("metrics");
        string Percent(string name) => logged.GetProperty(name).GetDouble().ToString("0.00", CultureInfo.InvariantCulture);
        result.Lines[^1].Should().Be($"mAP@0.5 {Percent("mAP@0.5")} % (VOC07 11-point)  {Percent("mAP@0.5 all-point")} % (all-point)  " +
            $"mAP@[.5:.95] {Percent("mAP@[.5:.95]")} % (COCO)  (8 images)", "the same weights on the same validation scenes as the trainer's last evaluation");
        result.Row("mean")[1].Should().Be(Percent("mAP@0.5"));
    }

    [Fact]
    public void Should_detect_with_the_trained_checkpoint_without_being_told_its_backbone_or_classes()
    {
        string image = run.Scratch("scene.png");
        using (var bitmap = TestImages.FromFunction(64, 64, (x, y) => new SkiaSharp.SKColor((byte)(4 * x), (byte)(4 * y), 90)))
            TestImages.Save(bitmap, image);
        var result = Cli.Run("detect", image, "-w", run.LastCheckpoint, "--score", "0").ShouldSucceed();
        result.Stdout.Should().Contain("scene.png (64×64): 100 objects", "a score floor of 0 keeps the top 100 the post-processor returns");
        result.TableRows.Skip(1).Select(r => r[0]).Should().OnlyContain(name => name.Length > 2, "the checkpoint's garment names label the rows");
    }

    [Fact]
    public void Should_name_the_accepted_forms_of_an_unknown_data_source() =>
        Cli.Run("train", "--task", "detection", "--data", "pascal:/tmp/x", "-o", run.Scratch("bad-prefix"))
            .ShouldFailWith(1, "Unknown detection data 'pascal:/tmp/x'. Use one of: voc:<dir>, coco:<json>[,<images dir>], fashion-scenes[:<train>,<val>].");

    [Fact]
    public void Should_say_that_a_detection_preset_needs_the_detection_task() =>
        Cli.Run("train", "--data", "fashion-scenes", "--preset", "detection-scenes", "-o", run.Scratch("no-task"))
            .ShouldFailWith(1, "The detection-scenes preset trains a detector; add --task detection (or pick a classification preset).");

    [Fact]
    public void Should_say_which_voc_folder_is_missing()
    {
        string missing = run.Scratch("no-voc");
        Cli.Run("train", "--task", "detection", "--data", "voc:" + missing, "-o", run.Scratch("bad-voc"))
            .ShouldFailWith(1, $"The VOC folder '{missing}' does not exist*");
    }

    [Fact]
    public void Should_refuse_to_resume_a_detector_as_a_classifier()
    {
        Cli.Run("train", "--task", "classification", "--resume", run.LastCheckpoint)
            .ShouldFailWith(1, $"Checkpoint '{run.LastCheckpoint}' is of a detection run, but this run trains classification; resume it with --task detection*");
    }

    [Fact]
    public void Should_refuse_to_resume_on_data_with_another_class_count()
    {
        // A Pascal VOC folder (20 classes) of four images: the checkpoint detects the scenes' 10 garments.
        string voc = run.Scratch("voc");
        var ids = new[] { "000001", "000002", "000003", "000004" };
        foreach (var id in ids)
        {
            TestImages.SaveConstant(Path.Combine(voc, "JPEGImages", id + ".jpg"), width: 64, height: 64);
            Directory.CreateDirectory(Path.Combine(voc, "Annotations"));
            File.WriteAllText(Path.Combine(voc, "Annotations", id + ".xml"),
                "<annotation><object><name>dog</name><difficult>0</difficult><bndbox><xmin>5</xmin><ymin>6</ymin><xmax>40</xmax><ymax>50</ymax></bndbox></object></annotation>");
        }
        Directory.CreateDirectory(Path.Combine(voc, "ImageSets", "Main"));
        File.WriteAllLines(Path.Combine(voc, "ImageSets", "Main", "trainval.txt"), ids);
        File.WriteAllLines(Path.Combine(voc, "ImageSets", "Main", "test.txt"), ids[..2]);

        Cli.Run("train", "--resume", run.LastCheckpoint, "--data", "voc:" + voc)
            .ShouldFailWith(1, $"Checkpoint '{run.LastCheckpoint}' holds mobilenext_035 (width 0.35, α 1, 10 classes), but this run trains mobilenext_035 (width 0.35, α 1, 20 classes).*");
    }

    [Fact]
    public void Should_say_when_the_detector_checkpoint_is_missing()
    {
        string file = run.Scratch("missing.pth");
        Cli.Run("eval", file).ShouldFailWith(1, $"The checkpoint '{file}' does not exist.");
    }
}
