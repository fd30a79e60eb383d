// Trains SSDLite on MobileNeXt-0.5 on the built-in Fashion-MNIST scenes through the one Trainer loop, printing the
// validation mAP@0.5 (VOC07 11-point) after every epoch: Table 8's setting at the scale of a 2-core CPU.
//
//   sudo apt-get install dataset-fashion-mnist
//   dotnet run -c Release --project samples/DetectScenes -- [model] [epochs] [output folder] [train scenes] [validation scenes] [Fashion-MNIST folder] [backbone checkpoint]
//
// Defaults: mobilenext_050, the detection-scenes preset's 30 epochs, runs/detect-scenes-<model>, 1000 and 200 scenes of
// 160² (RecipePresets.DetectionScenes says why each value is what it is), Debian's Fashion-MNIST; the learning-rate drops stay at 2/3 and 5/6 of
// whatever length is asked for. bench/table8-scenes.sh trains mobilenext_050 and mobilenetv2_050 the same way (through
// 'mobilenext train --task detection --preset detection-scenes') with the same budget. Run it again with the same output folder after Ctrl+C and it
// resumes where it stopped. A backbone checkpoint (a classifier of the same network, e.g. from
// 'mobilenext train --data fashion-mnist --preset fashion-mnist -m mobilenext_050') starts the detector's backbone from
// it, as the paper starts from ImageNet; "" keeps the default Fashion-MNIST folder. The result loads with `mobilenext eval <output>/best.pth` and `mobilenext detect --weights`.
using System.Globalization;
using MobileNeXt.Detection.Training;
using MobileNeXt.Training;
using MobileNeXt.Training.Recipes;
using MobileNeXt.Training.Reporting;

// Serve libtorch's memory with tcmalloc where it is installed (this restarts the process in place, so it comes first;
// the mobilenext command does the same): glibc's heap fragments under training and pays page faults for it.
MobileNeXt.TorchRuntime.UseTcmalloc();

string model = args.Length > 0 ? args[0] : "mobilenext_050";
var preset = RecipePresets.DetectionScenes;
int epochs, train, validation;
try
{
    epochs = Count(1, "epochs", preset.Epochs);
    train = Count(3, "train scenes", DetectionData.DefaultSceneTrainCount);
    validation = Count(4, "validation scenes", DetectionData.DefaultSceneValidationCount);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
string output = args.Length > 2 ? args[2] : Path.Combine("runs", "detect-scenes-" + model);
string? fashionMnist = args.Length > 5 && args[5].Length > 0 ? args[5] : null;
string? backbone = args.Length > 6 ? args[6] : null;

DetectionData data;
try
{
    // Scenes drawn at the detector's input size, so evaluation sees them unresized.
    data = DetectionData.Open($"fashion-scenes:{train},{validation}", sceneSize: preset.InputSize, fashionMnistFolder: fashionMnist);
}
// A missing dataset is the user's to fix, and the message says how; anything else is a bug and keeps its trace.
catch (Exception e) when (e is FileNotFoundException or InvalidDataException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}

// Any length keeps the recipe's shape: drops at 2/3 and 5/6 of the run (as 40k and 50k of 60k); the preset's own
// milestones are these for its 30 epochs of 1000 scenes.
long steps = (long)epochs * Math.Max(1, train / preset.BatchSize);
var options = preset with
{
    Model = model, Epochs = epochs, OutputDirectory = output, InitialWeights = backbone,
    Milestones = [Math.Max(1, steps * 2 / 3), Math.Max(2, steps * 5 / 6)],
    WarmupIterations = (int)Math.Min(preset.WarmupIterations, Math.Max(1, steps / 4)),
};

string last = Path.Combine(output, "last.pth");
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };

var clock = System.Diagnostics.Stopwatch.StartNew();
TrainingResult result;
try
{
    result = ConsoleProgress.Run(options.LogEverySteps, progress =>
    {
        using var trainer = new Trainer(options, new DetectionTask(data), progress: progress);
        return trainer.Run(File.Exists(last) ? last : null, cancel.Token);
    });
}
// Bad input the library names (an unknown backbone, a checkpoint of another run in the output folder): one line, as the CLI does.
catch (Exception e) when (e is ArgumentException or KeyNotFoundException or InvalidDataException or FileNotFoundException)
{
    Console.Error.WriteLine($"error: {(e is ArgumentException { ParamName: { } p } ? e.Message.Replace($" (Parameter '{p}')", "", StringComparison.Ordinal) : e.Message)}");
    return 1;
}
Console.WriteLine($"{(result.Interrupted ? "Interrupted" : "Done")} after {clock.Elapsed:h\\:mm\\:ss} ({model}): " +
    string.Join("  ", result.Epochs.Select(m => string.Create(CultureInfo.InvariantCulture, $"epoch {m.Epoch}: mAP@0.5 {m.PrimaryMetric:0.00}"))));
Console.WriteLine($"Checkpoints, metrics.jsonl and plots are in '{Path.GetFullPath(output)}'.");
return 0;

// The positional argument at <paramref name="i"/>, a positive whole number, or <paramref name="fallback"/> when not given.
int Count(int i, string name, int fallback)
{
    if (args.Length <= i) return fallback;
    return int.TryParse(args[i], NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n
        : throw new ArgumentException($"The {name} argument (position {i + 1}) is '{args[i]}'; give a positive whole number.");
}
