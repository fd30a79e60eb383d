using System.CommandLine;
using MobileNeXt.Detection.Training;
using MobileNeXt.Training;
using MobileNeXt.Training.Checkpoints;
using MobileNeXt.Training.Data;
using MobileNeXt.Training.Distributed;
using MobileNeXt.Training.Recipes;
using MobileNeXt.Training.Reporting;

namespace MobileNeXt.Cli;

/// <summary>
/// <c>mobilenext train</c>: train a model with a recipe preset, resumable. Started by <c>mpirun -np N</c> it runs as
/// one of N data-parallel ranks (rank 0 prints progress and writes the files; the others print only errors); started
/// alone it is the single-process run.
/// </summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var task = new Option<string>("--task") { Description = "What to learn: classification (the default) or detection (SSDLite on a mobilenext_* or mobilenetv2_* backbone). Resuming, the checkpoint's task.", HelpName = "classification|detection" };
        task.AcceptOnlyFromAmong(ClassificationTask.TaskName, DetectionTask.TaskName);
        var data = new Option<string>("--data", "-d") { Description = $"Classification: a folder with train/ and val/ (ImageNet layout), or one of: {TrainingData.Builtins}. Detection: {DetectionData.Forms}. Required unless resuming (the checkpoint names its data).", HelpName = "source" };
        var preset = new Option<string>("--preset") { Description = "Recipe: paper (Sec. 4.1, the classification default), released (the authors' code), efficient (the MobileNeXt† run: mobilenext_se_100, RMSpropTF, ×0.97 every 2.4 epochs, EMA), finetune (BiT's fine-tuning rule, with --init), detection (the released SSDLite recipe, the detection default: 60k iterations) or detection-scenes (its small-scale version for the built-in scenes).", HelpName = "name" };
        var iterations = new Option<long>("--iterations") { Description = "Run length in optimizer steps, for recipes counted in iterations (the detection preset's 60000); whole epochs are trained until it is reached.", HelpName = "n" };
        var model = new Option<string>("--model", "-m") { Description = "Registry name, e.g. mobilenext_100 (see 'mobilenext models').", HelpName = "name" };
        var width = new Option<double>("--width") { Description = "Width multiplier overriding the name's.", HelpName = "w" };
        var alpha = new Option<double>("--identity-multiplier", "-a") { Description = "Identity tensor multiplier α (Sec. 3.3).", HelpName = "alpha" };
        var inputSize = new Option<int>("--input-size") { Description = "Input side in pixels (224; 32–64 for small images).", HelpName = "n" };
        var epochs = new Option<int>("--epochs") { Description = "Total epochs (warm-up and cool-down included); replaces a preset's --iterations.", HelpName = "n" };
        var warmup = new Option<int>("--warmup-epochs") { Description = "Epochs of linear warm-up at the start (part of --epochs).", HelpName = "n" };
        var cooldown = new Option<int>("--cooldown-epochs") { Description = "Epochs at the final learning rate at the end of the cosine (part of --epochs).", HelpName = "n" };
        var init = new Option<string>("--init") { Description = "Fine-tune: start from these weights (a released .pth.tar, a 'mobilenext train' checkpoint, a state_dict or a .dat file); a classifier for another class count is replaced. Detection: the backbone's features come from this classification checkpoint.", HelpName = "file" };
        var freeze = new Option<bool>("--freeze-features") { Description = "Train only the classifier (linear probe): the backbone's weights and BatchNorm statistics stay as loaded." };
        var unfreeze = new Option<int>("--unfreeze-after") { Description = "With --freeze-features: fine-tune the whole network after this many epochs.", HelpName = "k" };
        var batch = new Option<int>("--batch-size", "-b") { Description = "Samples per step per process (the global batch is this × the number of mpirun ranks).", HelpName = "n" };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate at the preset's reference batch (scaled linearly to the global batch).", HelpName = "rate" };
        var workers = new Option<int>("--workers") { Description = "Data worker threads.", HelpName = "n" };
        var threads = new Option<int>("--threads") { Description = "libtorch threads of each process (under mpirun -np N give each cores / N).", HelpName = "n" };
        var device = new Option<string>("--device") { Description = "cpu, cuda (under mpirun: the GPU of each rank's node-local rank) or cuda:N; a GPU needs a CUDA build of libtorch.", HelpName = "device" };
        var channelsLast = new Option<bool>("--channels-last") { Description = "Hand the model channels-last (NHWC-strided) batches, faster on CPU; 'false' trains in PyTorch's default layout.", HelpName = "true|false" };
        var seed = new Option<int>("--seed") { Description = "Seed of everything random.", HelpName = "n" };
        var ema = new Option<double>("--ema") { Description = "Keep an EMA of the weights with this decay (e.g. 0.9999) and evaluate it too.", HelpName = "decay" };
        var clip = new Option<double>("--clip-grad") { Description = "Clip the gradient norm to this value.", HelpName = "norm" };
        var output = new Option<string>("--output", "-o") { Description = "Folder for checkpoints, metrics.jsonl and plots.", HelpName = "dir" };
        var resume = new Option<string>("--resume") { Description = "Continue from a checkpoint (last.pth); its options are the defaults.", HelpName = "file" };
        var corrupt = new Option<CorruptImagePolicy>("--corrupt-images") { Description = "Skip (count and log) or Throw on unreadable image files.", DefaultValueFactory = _ => CorruptImagePolicy.Skip };
        var command = new Command("train", "Train a classifier on an image folder, Fashion-MNIST or synthetic shapes with the paper's, the released or the MobileNeXt† (efficient) recipe; or, with --task detection, SSDLite on Pascal VOC, COCO JSON or the built-in scenes.")
        {
            task, data, preset, iterations, model, width, alpha, inputSize, epochs, warmup, cooldown, batch, lr, init, freeze, unfreeze, workers, threads, device, channelsLast, seed, ema, clip, output, resume, corrupt,
        };
        command.SetAction(result =>
        {
            TorchRuntime.EnsureAvailable();
            // Under mpirun: one rank per process; a rank that fails ends the whole job at once (MPI_Abort) instead of
            // leaving the others blocked in a collective. Alone: a single-process communicator and plain exceptions.
            MpiCommunicator.AbortJobOnUnhandledException();
            using var communicator = Communicators.Create();
            return MpiCommunicator.AbortOnException(() => Train(result, communicator));
        });
        return command;

        int Train(ParseResult result, ICommunicator communicator)
        {
            string? resumeFrom = result.GetValue(resume);
            TrainingOptions options;
            string? source = result.GetValue(data);
            bool Given(Option o) => result.GetResult(o) is not null;
            string taskName = result.GetValue(task) ?? ClassificationTask.TaskName;
            if (resumeFrom is not null)
            {
                using var checkpoint = TrainingCheckpoint.Read(resumeFrom);
                // A checkpoint of another task cannot be resumed as this one; said before its data is opened as the wrong kind.
                if (Given(task)) checkpoint.RequireTask(taskName, resumeFrom);
                taskName = checkpoint.Task;
                options = checkpoint.Options;
                source ??= checkpoint.DataSource ?? throw new ArgumentException(
                    $"'{resumeFrom}' does not name the data it was trained on (it was written before checkpoints stored it, or from data assembled in code); pass it with --data.");
            }
            else options = RecipePresets.Get(result.GetValue(preset) ?? (taskName == DetectionTask.TaskName ? "detection" : "paper"));
            bool detection = taskName == DetectionTask.TaskName;
            if (!detection && resumeFrom is null && options.Preset is "detection" or "detection-scenes")
                throw new ArgumentException($"The {options.Preset} preset trains a detector; add --task detection (or pick a classification preset).");
            if (source is null)
                throw new ArgumentException(detection
                    ? $"Say what to detect in with --data <{DetectionData.Forms.Replace(", ", "|", StringComparison.Ordinal)}>, or continue a run with --resume <checkpoint>."
                    : $"Say what to train on with --data <folder|{TrainingData.Builtins.Replace(", ", "|", StringComparison.Ordinal)}>, or continue a run with --resume <checkpoint>.");
            if (Given(model)) options = options with { Model = result.GetValue(model)! };
            if (Given(width)) options = options with { Width = result.GetValue(width) };
            if (Given(alpha)) options = options with { IdentityMultiplier = result.GetValue(alpha) };
            if (Given(inputSize)) options = options with { InputSize = result.GetValue(inputSize) };
            if (Given(epochs)) options = options with { Epochs = result.GetValue(epochs), Iterations = null };
            if (Given(iterations)) options = options with { Iterations = result.GetValue(iterations) };
            if (Given(warmup)) options = options with { WarmupEpochs = result.GetValue(warmup) };
            if (Given(cooldown)) options = options with { CooldownEpochs = result.GetValue(cooldown) };
            if (Given(init)) options = options with { InitialWeights = result.GetValue(init) };
            if (Given(freeze)) options = options with { FreezeFeatures = result.GetValue(freeze) };
            if (Given(unfreeze)) options = options with { UnfreezeAfterEpochs = result.GetValue(unfreeze), FreezeFeatures = true };
            if (Given(batch)) options = options with { BatchSize = result.GetValue(batch) };
            if (Given(lr)) options = options with { LearningRate = result.GetValue(lr) };
            if (Given(workers)) options = options with { Workers = result.GetValue(workers) };
            if (Given(threads)) options = options with { Threads = result.GetValue(threads) };
            if (Given(device)) options = options with { Device = result.GetValue(device)! };
            if (Given(channelsLast)) options = options with { ChannelsLast = result.GetValue(channelsLast) };
            if (Given(seed)) options = options with { Seed = result.GetValue(seed) };
            if (Given(ema)) options = options with { EmaDecay = result.GetValue(ema) };
            if (Given(clip)) options = options with { ClipGradNorm = result.GetValue(clip) };
            if (Given(output)) options = options with { OutputDirectory = result.GetValue(output)! };

            bool root = communicator.IsRoot;
            // Built-in scenes are drawn at the detector's input size, so evaluation sees them unresized.
            TrainingTask trainingTask = detection
                ? new DetectionTask(DetectionData.Open(source, sceneSize: options.InputSize))
                : new ClassificationTask(TrainingData.Open(source, new ImageFolderOptions { CorruptImages = result.GetValue(corrupt) },
                    syntheticImageSize: Math.Max(options.InputSize, 32)));
            using var cancel = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cancel.Cancel(); };
            Console.CancelKeyPress += onCancel;
            try
            {
                TrainingResult Body(ITrainingProgress progress)
                {
                    using var trainer = new Trainer(options, trainingTask, communicator, progress);
                    return trainer.Run(resumeFrom, cancel.Token);
                }
                // Only rank 0 reports; the other ranks are silent unless they fail.
                var run = root ? ConsoleProgress.Run(options.LogEverySteps, Body) : Body(SilentProgress.Instance);
                // Interrupted, the trainer has already said where it saved and how to continue.
                if (root && !run.Interrupted) Console.WriteLine($"Finished at step {run.GlobalStep}; last checkpoint: {run.LastCheckpoint}" +
                    (run.BestCheckpoint is { } best ? $", best: {best}" : ""));
                return run.Interrupted ? 130 : 0;
            }
            catch (TrainingDivergedException e)
            {
                // Divergence is decided collectively (every rank sees the same losses), so every rank is here at
                // the same step and can finish normally; rank 0 says why.
                if (root) Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
        }
    }
}
