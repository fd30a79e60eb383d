// Fine-tunes pretrained MobileNeXt weights on your own classes, with the finetune preset (BiT's fine-tuning rule:
// SGD momentum 0.9, lr 0.003 at batch 512, no weight decay, one warm-up epoch of ten; RecipePresets.FineTune).
//
//   dotnet run -c Release --project samples/FineTune -- <folder> <weights> [model] [output folder] [epochs] [probe]
//
// <folder> holds train/<class>/<image> and val/<class>/<image> (ImageNet layout). <weights> is a released .pth.tar, a
// `mobilenext train` checkpoint or a TorchSharp .dat file of the same model (default mobilenext_100; give the name and
// width the weights were made for). The classifier is replaced when your folder has another number of classes than the
// weights. "probe" as the last argument trains only the classifier in the first epoch (a linear probe, the backbone and
// its BatchNorm statistics fixed), then the whole network. Run it again with the same output folder after Ctrl+C and it
// resumes; the checkpoint keeps your class names, so `mobilenext predict -w <output>/best.pth` names them.
using MobileNeXt.Training;
using MobileNeXt.Training.Recipes;
using MobileNeXt.Training.Reporting;

// Serve libtorch's memory with tcmalloc where it is installed (this restarts the process in place, so it comes first;
// the mobilenext command does the same): glibc's heap fragments under training and pays page faults for it.
MobileNeXt.TorchRuntime.UseTcmalloc();

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: FineTune <folder with train/ and val/> <weights> [model] [output folder] [epochs] [probe]");
    return 2;
}
string folder = args[0], weights = args[1];
string model = args.Length > 2 ? args[2] : "mobilenext_100";
string output = args.Length > 3 ? args[3] : Path.Combine("runs", "finetune");
int epochs = args.Length > 4 ? int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture) : RecipePresets.FineTune.Epochs;
bool probe = args.Length > 5 && args[5] == "probe";

string last = Path.Combine(output, "last.pth");
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
try
{
    var data = TrainingData.Open(folder);
    var options = RecipePresets.FineTune with
    {
        Model = model,
        InitialWeights = weights,
        Epochs = epochs,
        WarmupEpochs = Math.Min(RecipePresets.FineTune.WarmupEpochs, epochs - 1),
        BatchSize = Math.Min(RecipePresets.FineTune.BatchSize, data.Train.Count), // a small folder: the rate follows the batch
        FreezeFeatures = probe,
        UnfreezeAfterEpochs = probe && epochs > 1 ? 1 : null,
        OutputDirectory = output,
    };
    var result = ConsoleProgress.Run(options.LogEverySteps, progress =>
    {
        using var trainer = new Trainer(options, data, progress: progress);
        return trainer.Run(File.Exists(last) ? last : null, cancel.Token);
    });
    Console.WriteLine($"{(result.Interrupted ? "Interrupted" : "Done")}: " + string.Join("  ", result.Epochs.Select(m => $"epoch {m.Epoch}: {m.Top1:0.00} %")));
    Console.WriteLine($"Checkpoints, metrics.jsonl and plots are in '{Path.GetFullPath(output)}'.");
    return result.Interrupted ? 130 : 0;
}
// A missing folder or weights file, weights of another model, or an unusable option are the user's to fix, and the
// message says how; anything else is a bug and keeps its trace.
catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}
