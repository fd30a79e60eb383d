using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MobileNeXt.Interop;
using MobileNeXt.Search.Network;
using MobileNeXt.Detection.Training;
using MobileNeXt.Search.Evaluation;
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
        var task = new Option<string>("--task") { Description = "What to learn: classification (the default), detection (SSDLite on a mobilenext_* or mobilenetv2_* backbone) or darts (a searched cell's network; implied by --genotype). Resuming, the checkpoint's task.", HelpName = "classification|detection|darts" };
        task.AcceptOnlyFromAmong(ClassificationTask.TaskName, DetectionTask.TaskName, DartsEvalTask.TaskName);
        var genotype = new Option<string>("--genotype", "-g") { Description = "Train the network of a searched cell (the genotype.json 'mobilenext search' wrote, or DARTS_V2 for DARTS's published cell) with DARTS's evaluation recipe (Table 9); --data is then " + SearchSources.Names + ".", HelpName = "file" };
        var cellChannels = new Option<int>("--channels") { Description = "With --genotype: initial channels of the network (DARTS: 36).", HelpName = "n" };
        var cellLayers = new Option<int>("--layers") { Description = "With --genotype: cells of the network (DARTS: 20).", HelpName = "n" };
        var stepsPerEpoch = new Option<int>("--steps-per-epoch") { Description = "Stop each epoch after this many steps (a budget; each epoch still draws from the whole shuffled training set); 0 trains whole epochs.", HelpName = "n" };
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
        var batchNorm = new Option<BatchNormPath>("--batchnorm") { Description = "How BatchNorm computes channels-last batches in training: Auto (this library's kernel: float64 sums, the ReLU6 after it fused), LibTorch or Fused.", HelpName = "path" };
        var pointwise = new Option<PointwiseConvolutionPath>("--pointwise") { Description = "How pointwise convolutions of channels-last batches are computed: Auto (libtorch's 1×1 kernel where a one-time check finds it right, under tcmalloc; else the matrix product), MatrixProduct, Checked or OneDnn (unchecked). A resumed run keeps the path it took.", HelpName = "path" };
        var seed = new Option<int>("--seed") { Description = "Seed of everything random.", HelpName = "n" };
        var ema = new Option<double>("--ema") { Description = "Keep an EMA of the weights with this decay (e.g. 0.9999) and evaluate it too.", HelpName = "decay" };
        var clip = new Option<double>("--clip-grad") { Description = "Clip the gradient norm to this value.", HelpName = "norm" };
        var output = new Option<string>("--output", "-o") { Description = "Folder for checkpoints, metrics.jsonl and plots.", HelpName = "dir" };
        var resume = new Option<string>("--resume") { Description = "Continue from a checkpoint (last.pth); its options are the defaults.", HelpName = "file" };
        var corrupt = new Option<CorruptImagePolicy>("--corrupt-images") { Description = "Skip (count and log) or Throw on unreadable image files.", DefaultValueFactory = _ => CorruptImagePolicy.Skip };
        var command = new Command("train", "Train a classifier on an image folder, Fashion-MNIST or synthetic shapes with the paper's, the released or the MobileNeXt† (efficient) recipe; or, with --task detection, SSDLite on Pascal VOC, COCO JSON or the built-in scenes; or, with --genotype, a searched cell's network with DARTS's evaluation recipe (Table 9).")
        {
            task, genotype, cellChannels, cellLayers, stepsPerEpoch, data, preset, iterations, model, width, alpha, inputSize, epochs, warmup, cooldown, batch, lr, init, freeze, unfreeze, workers, threads, device, channelsLast, pointwise, batchNorm, seed, ema, clip, output, resume, corrupt,
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
            string taskName = result.GetValue(task) ?? (Given(genotype) ? DartsEvalTask.TaskName : ClassificationTask.TaskName);
            if (Given(genotype) && taskName != DartsEvalTask.TaskName)
                throw new ArgumentException($"--genotype trains a searched cell's network (--task {DartsEvalTask.TaskName}), not --task {taskName}; drop one of them.");
            string? taskSettings = null;
            if (resumeFrom is not null)
            {
                using var checkpoint = TrainingCheckpoint.Read(resumeFrom);
                // A checkpoint of another task cannot be resumed as this one; said before its data is opened as the wrong kind.
                if (Given(task) || Given(genotype)) checkpoint.RequireTask(taskName, resumeFrom);
                taskName = checkpoint.Task;
                taskSettings = checkpoint.TaskSettings;
                options = checkpoint.Options;
                source ??= checkpoint.DataSource ?? throw new ArgumentException(
                    $"'{resumeFrom}' does not name the data it was trained on (it was written before checkpoints stored it, or from data assembled in code); pass it with --data.");
            }
            else if (taskName == DartsEvalTask.TaskName)
            {
                if (Given(preset)) throw new ArgumentException("--preset does not apply to a searched cell: --genotype trains with DARTS's evaluation recipe; change it with --epochs, --batch-size, --lr, --clip-grad.");
                options = DartsEvalOptions.Darts.TrainingOptions();
            }
            else options = RecipePresets.Get(result.GetValue(preset) ?? (taskName == DetectionTask.TaskName ? "detection" : "paper"));
            bool detection = taskName == DetectionTask.TaskName, darts = taskName == DartsEvalTask.TaskName;
            if (darts && resumeFrom is null && (Given(model) || Given(width) || Given(alpha) || Given(inputSize)))
                throw new ArgumentException("--model, --width, --identity-multiplier and --input-size do not apply to a searched cell: the genotype, --channels and --layers make its network, which reads 32² images.");
            if (!darts && (Given(cellChannels) || Given(cellLayers)))
                throw new ArgumentException("--channels and --layers size a searched cell's network; use them with --genotype.");
            if (darts && resumeFrom is not null && (Given(genotype) || Given(cellChannels) || Given(cellLayers)))
                throw new ArgumentException("A resumed run keeps its cell and size (the checkpoint holds them); drop --genotype, --channels and --layers, or start a new run in another --output folder.");
            if (darts && resumeFrom is null && !Given(genotype))
                throw new ArgumentException("--task darts trains a searched cell: say which with --genotype <genotype.json|DARTS_V2>.");
            if (!detection && resumeFrom is null && options.Preset is "detection" or "detection-scenes")
                throw new ArgumentException($"The {options.Preset} preset trains a detector; add --task detection (or pick a classification preset).");
            if (source is null)
                throw new ArgumentException(detection
                    ? $"Say what to detect in with --data <{DetectionData.Forms.Replace(", ", "|", StringComparison.Ordinal)}>, or continue a run with --resume <checkpoint>."
                    : darts ? $"Say what to train the cell on with --data <{SearchSources.Names.Replace(", ", "|", StringComparison.Ordinal)}>, or continue a run with --resume <checkpoint>."
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
            if (Given(pointwise)) options = options with { PointwiseConvolutions = result.GetValue(pointwise) };
            if (Given(batchNorm)) options = options with { BatchNorm = result.GetValue(batchNorm) };
            if (Given(seed)) options = options with { Seed = result.GetValue(seed) };
            if (Given(ema)) options = options with { EmaDecay = result.GetValue(ema) };
            if (Given(clip)) options = options with { ClipGradNorm = result.GetValue(clip) };
            if (Given(output)) options = options with { OutputDirectory = result.GetValue(output)! };
            if (Given(stepsPerEpoch)) options = options with { MaxStepsPerEpoch = result.GetValue(stepsPerEpoch) };

            bool root = communicator.IsRoot;
            // Built-in scenes are drawn at the detector's input size, so evaluation sees them unresized.
            TrainingTask trainingTask = detection
                ? new DetectionTask(DetectionData.Open(source, sceneSize: options.InputSize))
                : darts ? CellTask(source, taskSettings, result.GetValue(genotype), result, cellChannels, cellLayers)
                : new ClassificationTask(TrainingData.Open(source, new ImageFolderOptions { CorruptImages = result.GetValue(corrupt) },
                    syntheticImageSize: Math.Max(options.InputSize, 32)));
            // network.json goes beside the checkpoints of its own run only: a fresh run into a folder holding another run's
            // checkpoint is refused by the trainer, and that run's network.json must survive the attempt.
            if (root && trainingTask is DartsEvalTask cell)
                DescribeCell(cell, options.OutputDirectory, write: resumeFrom is not null || !File.Exists(Path.Combine(options.OutputDirectory, CheckpointStore.LastFileName)));
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

    /// <summary>
    /// Says what network the cell gives and writes <c>network.json</c> beside the checkpoints: the genotype, the size and
    /// the parameters DARTS reports (without the auxiliary head) and the MACs of one 32² image.
    /// </summary>
    private static void DescribeCell(DartsEvalTask cell, string outputDirectory, bool write)
    {
        using var network = new EvalNetwork(cell.NetworkOptions);
        long parameters = network.ReportedParameterCount(), macs = network.Profile().TotalMacs;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Training {cell.Cell.Layers} cells of {cell.Cell.Channels} channels ({parameters / 1e6:0.000} M parameters without the auxiliary head, {macs / 1e6:0.0} M MACs at 32²) on {cell.DataDescription}."));
        if (!write) return;
        Directory.CreateDirectory(outputDirectory);
        AtomicFile.Write(Path.Combine(outputDirectory, "network.json"), stream => JsonSerializer.Serialize(stream, new
        {
            model = cell.Cell.ModelName,
            genotype = JsonDocument.Parse(cell.Cell.Genotype.ToJson()).RootElement,
            channels = cell.Cell.Channels,
            layers = cell.Cell.Layers,
            parameters,
            macs,
        }, new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>The searched cell's task: from the checkpoint's settings when resuming, else from the genotype file and DARTS's recipe with --channels/--layers.</summary>
    private static DartsEvalTask CellTask(string source, string? storedSettings, string? genotypeFile, ParseResult result, Option<int> channels, Option<int> layers)
    {
        DartsEvalSettings settings;
        if (storedSettings is not null) settings = DartsEvalSettings.FromJson(storedSettings);
        else if (genotypeFile is null) throw new InvalidDataException("The checkpoint is of a searched cell's run but does not hold its cell (task_settings); it is damaged. Start a new run with --genotype.");
        else
        {
            var recipe = DartsEvalOptions.Darts;
            if (result.GetResult(channels) is not null) recipe = recipe with { Channels = result.GetValue(channels) };
            if (result.GetResult(layers) is not null) recipe = recipe with { Layers = result.GetValue(layers) };
            settings = DartsEvalSettings.From(SearchSources.LoadGenotype(genotypeFile), recipe);
        }
        var (train, test, normalization) = SearchSources.Open(source);
        return new DartsEvalTask(settings, train, test, normalization, source.Trim(), source.Trim());
    }
}
