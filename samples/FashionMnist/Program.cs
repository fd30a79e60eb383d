// Trains MobileNeXt-0.35 on Fashion-MNIST to ≥ 90 % test accuracy on a 2-core CPU.
//
//   sudo apt-get install dataset-fashion-mnist
//   dotnet run -c Release --project samples/FashionMnist -- [epochs] [output folder] [dataset folder] [model]
//
// The dataset folder holds the four *-idx?-ubyte.gz files (default: the Debian package's /usr/share/datasets/fashion-mnist).
// Run it again with the same output folder after Ctrl+C and it resumes where it stopped. The model is a registry name
// (default mobilenext_035); bench/table4.sh trains mobilenetv2_035 with the same recipe for the quantization comparison.
//
// Measured on a 2-core machine (10 epochs, 10 min 15 s; channels-last batches, one libtorch thread beside the data
// worker, as the trainer chooses for a network this small; tcmalloc, so libtorch's checked 1×1 kernel): test top-1 per
// epoch 74.76, 84.57, 81.84, 87.04, 88.07, 89.02, 90.05, 90.30, 90.42, 90.50 %. Another thread count, layout or
// pointwise path changes the arithmetic order and so the digits (the matrix product under glibc's malloc: 90.29 % in
// 13 min; two threads in the default layout: 90.45 % in 26 min).
using MobileNeXt.Training;
using MobileNeXt.Training.Recipes;
using MobileNeXt.Training.Reporting;

// Serve libtorch's memory with tcmalloc where it is installed (this restarts the process in place, so it comes first;
// the mobilenext command does the same): glibc's heap fragments under training and pays page faults for it.
MobileNeXt.TorchRuntime.UseTcmalloc();

int epochs = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 10;
string output = args.Length > 1 ? args[1] : Path.Combine("runs", "fashion-mnist");
string? datasetFolder = args.Length > 2 && args[2].Length > 0 ? args[2] : null;
string model = args.Length > 3 ? args[3] : "mobilenext_035";

TrainingData data;
try
{
    data = TrainingData.FashionMnist(datasetFolder);
}
// A missing or damaged dataset is the user's to fix, and the message says how; anything else is a bug and keeps its trace.
catch (Exception e) when (e is FileNotFoundException or InvalidDataException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}

// The paper's recipe (SGD momentum 0.9, cosine, linear warm-up, learning rate set every step), shrunk to 28×28 images:
// the fashion-mnist preset (RecipePresets.FashionMnist says why each value is what it is).
var options = RecipePresets.FashionMnist with
{
    Model = model,
    Epochs = epochs,
    OutputDirectory = output,
};

string last = Path.Combine(output, "last.pth");
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };

var clock = System.Diagnostics.Stopwatch.StartNew();
var result = ConsoleProgress.Run(options.LogEverySteps, progress =>
{
    using var trainer = new Trainer(options, data, progress: progress);
    return trainer.Run(File.Exists(last) ? last : null, cancel.Token);
});
Console.WriteLine($"{(result.Interrupted ? "Interrupted" : "Done")} after {clock.Elapsed:h\\:mm\\:ss}: " +
    string.Join("  ", result.Epochs.Select(m => $"epoch {m.Epoch}: {m.Top1:0.00} %")));
Console.WriteLine($"Checkpoints, metrics.jsonl and plots are in '{Path.GetFullPath(output)}'.");
return 0;
