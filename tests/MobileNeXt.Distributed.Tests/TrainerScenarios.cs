using MobileNeXt.Training.Optimization;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MobileNeXt.Models;
using MobileNeXt.Inference;
using MobileNeXt.Search.Evaluation;
using MobileNeXt.Search.Network;
using MobileNeXt.Training;
using MobileNeXt.Training.Checkpoints;
using MobileNeXt.Training.Data;
using MobileNeXt.Training.Distributed;
using MobileNeXt.Training.Recipes;
using MobileNeXt.Training.Reporting;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Distributed.Tests;

/// <summary>The <see cref="Trainer"/> on every rank of a job: the scenarios <see cref="RankProgram"/> runs for <see cref="TrainerMpiTests"/>.</summary>
internal static class TrainerScenarios
{
    /// <summary>64 training images (32 per rank), 16 validation images, 4 classes, 32×32.</summary>
    internal static TrainingData Shapes() => new(
        new SyntheticShapesDataset(new SyntheticShapesOptions { Count = 64, ImageSize = 32, NumClasses = 4, Seed = 1 }),
        new SyntheticShapesDataset(new SyntheticShapesOptions { Count = 16, ImageSize = 32, NumClasses = 4, Seed = 2 }),
        "test shapes");

    /// <summary>MobileNeXt-0.35 at 32×32, 2 epochs of 4 steps of 8 images per rank, EMA, dropout and clipping on, 1 thread.</summary>
    internal static TrainingOptions Tiny(string directory) => RecipePresets.Released with
    {
        Model = "mobilenext_035",
        InputSize = 32,
        EvalResizeSize = 32,
        Epochs = 2,
        WarmupEpochs = 0,
        CooldownEpochs = 0,
        BatchSize = 8,
        ReferenceBatchSize = 16,
        LearningRate = 0.05,
        EmaDecay = 0.9,
        ClipGradNorm = 2.0,
        Workers = 1,
        Threads = 1,
        OutputDirectory = directory,
    };

    // Rank 0 writes into outdir/<name>; every other rank is given outdir/<name>-rank<r>, a folder that must never
    // appear (only rank 0 writes). Every rank reads the resume file from rank 0's folder, as on a shared disk.
    private static string RunFolder(string outDir, string name, int rank) => Path.Combine(outDir, rank == 0 ? name : $"{name}-rank{rank}");

    /// <summary>
    /// A straight 2-epoch run, then the same run stopped by Ctrl+C on rank 0 only during epoch 1's last step and
    /// resumed from its last.pth by new trainers on every rank. Each rank dumps its final model and EMA state.
    /// </summary>
    internal static int Train(ICommunicator comm, string outDir)
    {
        int r = comm.Rank;
        var data = Shapes();
        var lines = new List<string>();
        using (var straight = new Trainer(Tiny(RunFolder(outDir, "straight", r)), data, comm))
        {
            var result = straight.Run();
            lines.Add($"straight: steps {result.GlobalStep}, per epoch {straight.StepsPerEpoch}, lr at step 0 {straight.Schedule.At(0).ToString("R", CultureInfo.InvariantCulture)}");
            File.WriteAllBytes(Path.Combine(outDir, $"straight-state-rank{r}.bin"), RankProgram.StateBytes(straight.Model, straight.Ema!.Module));
        }

        var options = Tiny(RunFolder(outDir, "resumed", r));
        using (var cancel = new CancellationTokenSource())
        using (var first = new Trainer(options, data, comm, new CancelOnRank0AtEndOfFirstEpoch(r, cancel)))
        {
            var stopped = first.Run(cancellationToken: cancel.Token);
            lines.Add($"first: interrupted {stopped.Interrupted} at step {stopped.GlobalStep}");
        }
        comm.Barrier(); // rank 0 has finished writing the checkpoint the other ranks are about to read
        using (var second = new Trainer(options, data, comm))
        {
            var result = second.Run(resumeFrom: Path.Combine(outDir, "resumed", CheckpointStore.LastFileName));
            lines.Add($"resumed: steps {result.GlobalStep}, interrupted {result.Interrupted}");
            File.WriteAllBytes(Path.Combine(outDir, $"resumed-state-rank{r}.bin"), RankProgram.StateBytes(second.Model, second.Ema!.Module));
        }
        File.WriteAllLines(Path.Combine(outDir, $"train-rank{r}.txt"), lines);
        return 0;
    }

    /// <summary>
    /// A searched cell's network (DARTS_V2, 5 cells of 4 channels) trained by <see cref="DartsEvalTask"/> on every
    /// rank: 64 training images (32 per rank, batches of 8), 2 epochs, tested on 15 images, which the ranks split 8
    /// and 7. Each rank writes its final state and the top-1/top-5 the trainer logged per epoch; rank 0 also writes the
    /// top-1/top-5 and image count of one process testing the final network on all 15 images.
    /// </summary>
    internal static int TrainDarts(ICommunicator comm, string outDir)
    {
        int r = comm.Rank;
        var train = new SyntheticShapesDataset(new SyntheticShapesOptions { Count = 64, ImageSize = 32, NumClasses = 4, Seed = 1 });
        var test = new SyntheticShapesDataset(new SyntheticShapesOptions { Count = 15, ImageSize = 32, NumClasses = 4, Seed = 2 });
        var settings = DartsEvalSettings.From(Genotype.DartsV2, DartsEvalOptions.Darts with { Channels = 4, Layers = 5 });
        var options = DartsEvalOptions.Darts.TrainingOptions() with
        {
            Epochs = 2,
            BatchSize = 8,
            ReferenceBatchSize = 16,
            Workers = 1,
            Threads = 1,
            OutputDirectory = RunFolder(outDir, "darts", r),
        };
        using var trainer = new Trainer(options, new DartsEvalTask(settings, train, test, NormalizationStatistics.Identity, "synthetic"), comm);
        var result = trainer.Run();
        string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        File.WriteAllLines(Path.Combine(outDir, $"darts-rank{r}.txt"),
            [$"steps {result.GlobalStep}, per epoch {trainer.StepsPerEpoch}", .. result.Epochs.Select(e => $"epoch {e.Epoch}: top-1 {F(e.Top1)} top-5 {F(e.Top5)}")]);
        File.WriteAllBytes(Path.Combine(outDir, $"darts-state-rank{r}.bin"), RankProgram.StateBytes(trainer.Network));
        if (r == 0)
        {
            var (top1, top5, images) = DartsEvalTask.Test((nn.Module<Tensor, Tensor>)trainer.Network, test, NormalizationStatistics.Identity, batchSize: 8, workers: 1);
            File.WriteAllText(Path.Combine(outDir, "darts-one-process.txt"), $"top-1 {F(top1)} top-5 {F(top5)} images {images}");
        }
        return 0;
    }

    private sealed class CancelOnRank0AtEndOfFirstEpoch(int rank, CancellationTokenSource cancel) : ITrainingProgress
    {
        public void OnStep(StepReport report)
        {
            if (rank == 0 && report.Epoch == 0 && report.StepInEpoch == report.StepsPerEpoch) cancel.Cancel();
        }

        public void OnEpoch(EpochMetrics metrics) { }

        public void OnMessage(string message) { }
    }

    /// <summary>
    /// A linear probe on every rank: rank 0 saves a seeded 10-class network as the initial weights, every rank starts
    /// from them with the backbone frozen (weight decay on, so a frozen tensor that took a step would move), and each
    /// writes whether its backbone is still bit-identical to the file and its final state. The flat all-reduce buffer
    /// gives frozen parameters zeroed gradient views, which the optimizer must skip.
    /// </summary>
    internal static int Probe(ICommunicator comm, string outDir)
    {
        int r = comm.Rank;
        string init = Path.Combine(outDir, "init.pth");
        if (r == 0)
        {
            manual_seed(7);
            using var pretrained = ModelRegistry.Create("mobilenext_035", new ModelCreateOptions { NumClasses = 10 });
            MobileNeXt.Interop.ModelWeights.SavePyTorch(pretrained, init);
        }
        comm.Barrier(); // the file exists before any rank reads it
        var options = Tiny(RunFolder(outDir, "probe", r)) with { InitialWeights = init, FreezeFeatures = true, WeightDecay = 1e-2, Epochs = 1, EmaDecay = null };
        using var trainer = new Trainer(options, Shapes(), comm);
        trainer.Run();
        var saved = MobileNeXt.Interop.ModelWeights.Read(init);
        var head = InitialWeights.HeadKeys(trainer.Model);
        bool unchanged = trainer.Model.state_dict().Where(kv => !head.Contains(kv.Key)).All(kv => kv.Value.eq(saved[kv.Key]).all().item<bool>());
        foreach (var t in saved.Values) t.Dispose();
        File.WriteAllLines(Path.Combine(outDir, $"probe-rank{r}.txt"),
            [$"replaced classifier: {trainer.Initialisation!.ReplacedClassifier}", $"backbone unchanged: {unchanged}", $"classes: {trainer.Model.NumClasses}"]);
        File.WriteAllBytes(Path.Combine(outDir, $"probe-state-rank{r}.bin"), RankProgram.StateBytes(trainer.Model));
        return 0;
    }

    /// <summary>Resumes <paramref name="checkpoint"/> with this job's number of ranks; prints the error as the CLI does.</summary>
    internal static int ResumeWithThisManyRanks(ICommunicator comm, string checkpoint, string outDir)
    {
        using var trainer = new Trainer(Tiny(RunFolder(outDir, "other", comm.Rank)), Shapes(), comm);
        try
        {
            trainer.Run(resumeFrom: checkpoint);
            return 0;
        }
        catch (InvalidDataException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    /// <summary>Rank 1's training data fails to load an image part-way through the first epoch.</summary>
    internal static int ThrowInsideTraining(ICommunicator comm, string outDir)
    {
        var data = Shapes();
        if (comm.Rank == 1) data = data with { Train = new FailingDataset(data.Train, failAfter: 20) };
        using var trainer = new Trainer(Tiny(RunFolder(outDir, "throw", comm.Rank)), data, comm);
        trainer.Run();
        return 0;
    }

    private sealed class FailingDataset(IImageDataset inner, int failAfter) : IImageDataset
    {
        private int _loaded;

        public int Count => inner.Count;

        public IReadOnlyList<string> Classes => inner.Classes;

        public int GetLabel(int index) => inner.GetLabel(index);

        public SKBitmap? LoadImage(int index) => Interlocked.Increment(ref _loaded) > failAfter
            ? throw new InvalidOperationException("deliberate failure loading a training image inside the trainer")
            : inner.LoadImage(index);
    }

    /// <summary>
    /// <c>bench-step &lt;steps&gt; [threads=1] [batch=32] [size=224] [model=mobilenext_100]</c>: the time of one training
    /// step as the trainer takes it (forward, loss, backward, flat-buffer gradient average, clipping, SGD step) on random
    /// data, median of <c>steps</c> after 3 warm-up steps, and separately the time of <see cref="FlatGradientBuffer.AverageGradients"/>
    /// and its share of the step. Prints one JSON line per rank.
    /// </summary>
    internal static int BenchStep(ICommunicator comm, string[] arguments)
    {
        int Arg(int i, int fallback) => arguments.Length > i ? int.Parse(arguments[i], CultureInfo.InvariantCulture) : fallback;
        int steps = Arg(0, 20), threads = Arg(1, 1), batch = Arg(2, 32), size = Arg(3, 224);
        string modelName = arguments.Length > 4 ? arguments[4] : "mobilenext_100";
        const int Warmup = 3;
        TorchRuntime.RetainFreedMemory(); // as the trainer does
        torch.set_num_threads(threads);
        torch.manual_seed(0);
        var model = ModelRegistry.Create(modelName, new ModelCreateOptions { NumClasses = 1000 });
        model.train();
        ParameterSync.BroadcastFrom(model, comm);
        var groups = ParameterGroups.Split(model, decayNormAndBias: true);
        var parameters = groups.All.Select(x => x.Parameter).ToList();
        using var grads = new FlatGradientBuffer(parameters);
        using var optimizer = groups.CreateSgd(0.05, 0.9, nesterov: false, weightDecay: 4e-5);
        var gen = new Generator(100 + (ulong)comm.Rank);
        var stepMs = new List<double>();
        var averageMs = new List<double>();
        for (int i = 0; i < Warmup + steps; i++)
        {
            using var scope = NewDisposeScope();
            var x = randn(new long[] { batch, 3, size, size }, generator: gen);
            var y = randint(0, 1000, new long[] { batch }, generator: gen);
            comm.Barrier(); // every rank starts the step together, so the all-reduce time is not another rank's lag
            var clock = Stopwatch.StartNew();
            optimizer.ZeroGrad();
            var loss = nn.functional.cross_entropy(model.call(x), y);
            loss.item<float>();
            loss.backward();
            var average = Stopwatch.StartNew();
            grads.AverageGradients(comm);
            average.Stop();
            nn.utils.clip_grad_norm_(parameters, 2.0);
            optimizer.Step();
            clock.Stop();
            if (i < Warmup) continue;
            stepMs.Add(clock.Elapsed.TotalMilliseconds);
            averageMs.Add(average.Elapsed.TotalMilliseconds);
        }
        static double Median(List<double> v)
        {
            var s = v.Order().ToList();
            return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
        }
        double step = Median(stepMs), avg = Median(averageMs);
        // One write() of the whole line: both ranks print to the same pipe, and Console.WriteLine wrote this ~280-byte
        // line in two pieces, between which the other rank's line once landed. A pipe write of up to 4096 bytes is atomic.
        WriteLineAtomically(JsonSerializer.Serialize(new
        {
            rank = comm.Rank,
            ranks = comm.Size,
            threads,
            model = modelName,
            batch_per_rank = batch,
            input = size,
            parameters = grads.ElementCount,
            steps,
            median_step_ms = Math.Round(step, 2),
            median_average_gradients_ms = Math.Round(avg, 3),
            average_gradients_share = Math.Round(avg / step, 4),
            global_images_per_second = Math.Round(batch * comm.Size / (step / 1000), 1),
            reattached = grads.Reattached,
        }));
        return 0;
    }

    private static void WriteLineAtomically(string line)
    {
        Console.Out.Flush();
        var bytes = System.Text.Encoding.UTF8.GetBytes(line + "\n");
        using var stdout = Console.OpenStandardOutput();
        stdout.Write(bytes, 0, bytes.Length);
        stdout.Flush();
    }
}
