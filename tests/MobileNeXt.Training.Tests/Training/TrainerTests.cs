using MobileNeXt.Tests.Shared;
using MobileNeXt.Training.Checkpoints;
using MobileNeXt.Training.Data;
using MobileNeXt.Training.Recipes;
using MobileNeXt.Training.Reporting;
using TorchSharp;

namespace MobileNeXt.Training.Tests.Training;

/// <summary>
/// Runs alone: a run draws its initial weights and dropout masks from libtorch's global generator (seeded from the
/// options, as PyTorch does), which a test class running in parallel would draw from too, breaking the bit-exact
/// comparisons.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GlobalGeneratorCollection
{
    public const string Name = "libtorch's global generator";
}

[Collection(GlobalGeneratorCollection.Name)]
public sealed class TrainerTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mobilenext-trainer-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private static TrainingData Shapes(int count = 32, int classes = 4) => new(
        new SyntheticShapesDataset(new SyntheticShapesOptions { Count = count, ImageSize = 32, NumClasses = classes, Seed = 1 }),
        new SyntheticShapesDataset(new SyntheticShapesOptions { Count = 16, ImageSize = 32, NumClasses = classes, Seed = 2 }),
        "test shapes");

    // A small, fast run: MobileNeXt-0.35 at 32×32 on one thread (deterministic), EMA, dropout and clipping on.
    private TrainingOptions Tiny(string name) => RecipePresets.Released with
    {
        Model = "mobilenext_035",
        InputSize = 32,
        EvalResizeSize = 32,
        Epochs = 2,
        WarmupEpochs = 0,
        CooldownEpochs = 0,
        BatchSize = 8,
        ReferenceBatchSize = 8,
        LearningRate = 0.05,
        EmaDecay = 0.9,
        ClipGradNorm = 2.0, // batches of 8 at 1×1 final resolution give BatchNorm near-zero variances and, unclipped, exploding gradients
        MaxStepsPerEpoch = 2,
        Workers = 1,
        Threads = 1,
        OutputDirectory = Path.Combine(_root, name),
    };

    [Fact]
    public void Should_store_the_pointwise_path_it_took_and_resume_with_it_whatever_the_process_default()
    {
        var before = MemoryLayout.PointwiseConvolutions;
        try
        {
            var data = Shapes();
            var options = Tiny("pointwise") with { Epochs = 1 };
            options.PointwiseConvolutions.Should().Be(PointwiseConvolutionPath.Auto);
            // Auto's rule (README, Speed): the checked kernel under tcmalloc, the matrix product under glibc's malloc
            var expected = TorchRuntime.LoadedAllocator() is "tcmalloc" or "jemalloc" ? PointwiseConvolutionPath.Checked : PointwiseConvolutionPath.MatrixProduct;
            using (var first = new Trainer(options, data))
            {
                first.Options.PointwiseConvolutions.Should().Be(expected);
                MemoryLayout.PointwiseConvolutions.Should().Be(expected);
                first.Run();
            }

            using var saved = TrainingCheckpoint.Read(Path.Combine(options.OutputDirectory, CheckpointStore.LastFileName));
            saved.Options.PointwiseConvolutions.Should().Be(expected);
            MemoryLayout.PointwiseConvolutions = PointwiseConvolutionPath.OneDnn; // another process's default
            using var resumed = new Trainer(saved.Options with { Epochs = 2 }, data);
            MemoryLayout.PointwiseConvolutions.Should().Be(expected);
        }
        finally
        {
            MemoryLayout.PointwiseConvolutions = before;
        }
    }

    [Fact]
    public void Should_set_the_batchnorm_path_for_the_process_and_resume_older_checkpoints_with_libtorchs()
    {
        var before = MemoryLayout.BatchNorm;
        try
        {
            var options = Tiny("batchnorm") with { BatchNorm = BatchNormPath.LibTorch };
            using (var trainer = new Trainer(options, Shapes()))
                MemoryLayout.BatchNorm.Should().Be(BatchNormPath.LibTorch);
            using (var trainer = new Trainer(Tiny("batchnorm-auto"), Shapes()))
                trainer.Options.BatchNorm.Should().Be(BatchNormPath.Fused, "Auto is settled once and stored in the run's checkpoints");

            string json = System.Text.Json.JsonSerializer.Serialize(options with { BatchNorm = BatchNormPath.Fused });
            TrainingCheckpoint.ReadOptions(json).BatchNorm.Should().Be(BatchNormPath.Fused);
            var node = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
            node.Remove(nameof(TrainingOptions.BatchNorm)).Should().BeTrue();
            TrainingCheckpoint.ReadOptions(node.ToJsonString()).BatchNorm.Should().Be(BatchNormPath.LibTorch, "the only path before the option");
        }
        finally
        {
            MemoryLayout.BatchNorm = before;
        }
    }

    [Fact]
    public void Should_read_a_checkpoint_from_before_the_pointwise_option_as_trained_with_the_matrix_product()
    {
        string json = System.Text.Json.JsonSerializer.Serialize(Tiny("old") with { PointwiseConvolutions = PointwiseConvolutionPath.OneDnn });
        var node = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
        node.Remove(nameof(TrainingOptions.PointwiseConvolutions)).Should().BeTrue();

        TrainingCheckpoint.ReadOptions(node.ToJsonString()).PointwiseConvolutions.Should().Be(PointwiseConvolutionPath.MatrixProduct);
        TrainingCheckpoint.ReadOptions(json).PointwiseConvolutions.Should().Be(PointwiseConvolutionPath.OneDnn);
    }

    [Theory]
    [InlineData(false, "sgd")] // stopped at the epoch boundary: 1 epoch + resume + 1 epoch
    [InlineData(true, "sgd")]  // stopped mid-epoch (Ctrl+C after one step)
    [InlineData(false, "rmsproptf")] // the same with RMSpropTF (square averages and momentum carried over) and a
    [InlineData(true, "rmsproptf")]  // step schedule decaying every half epoch
    public void Should_resume_to_exactly_the_uninterrupted_result(bool midEpoch, string optimizer)
    {
        var data = Shapes();
        TrainingOptions Options(string name) => optimizer == "sgd" ? Tiny(name) : Tiny(name) with
        {
            Optimizer = optimizer,
            Nesterov = false,
            LearningRate = 0.01, // RMSpropTF's steps are larger than SGD's at the same rate
            Schedule = "step",
            DecayEpochs = 0.5,
            DecayRate = 0.5,
        };
        using var straight = new Trainer(Options("straight"), data);
        straight.Run().GlobalStep.Should().Be(4);

        using var cancel = new CancellationTokenSource();
        var recorder = new Recorder
        {
            AfterStep = r => { if (midEpoch && r.GlobalStep == 3) cancel.Cancel(); },
            AfterEpoch = m => { if (!midEpoch && m.Epoch == 1) cancel.Cancel(); },
        };
        var options = Options("resumed");
        using (var first = new Trainer(options, data, progress: recorder))
        {
            var stopped = first.Run(cancellationToken: cancel.Token);
            stopped.Interrupted.Should().BeTrue();
            stopped.GlobalStep.Should().Be(midEpoch ? 3 : 2);
        }
        using (var saved = TrainingCheckpoint.Read(Path.Combine(options.OutputDirectory, CheckpointStore.LastFileName)))
        {
            saved.MomentumBuffers.Should().NotBeEmpty();
            if (optimizer == "sgd") saved.SquareAverages.Should().BeNull("SGD writes no square averages");
            else saved.SquareAverages!.Keys.Should().BeEquivalentTo(saved.MomentumBuffers.Keys);
        }
        using var second = new Trainer(options, data);
        second.Run(resumeFrom: Path.Combine(options.OutputDirectory, CheckpointStore.LastFileName)).GlobalStep.Should().Be(4);

        TrainingAssertions.ShouldBeIdentical(straight.Model, second.Model);
        TrainingAssertions.ShouldBeIdentical(straight.Ema!.Module, second.Ema!.Module);
        new MetricsLog(options.OutputDirectory).ReadAll().Select(m => m.Epoch).Should().Equal(1, 2);
    }

    [Fact]
    public void Should_resume_exactly_after_a_batch_whose_every_image_was_skipped()
    {
        // Batch 0 of epoch 0 is unreadable from end to end, so the loader drops it; it still counts as a step, and a
        // run stopped after the next step resumes at the loader's next batch, not one behind.
        var options = Tiny("dropped") with { MaxStepsPerEpoch = 3, EmaDecay = null };
        var order = new EpochSampler(32, new EpochSamplerOptions { Seed = options.Seed }).ShardIndices(0);
        var unreadable = order.Take(options.BatchSize).ToHashSet();
        var shapes = Shapes();
        var data = new TrainingData(new Unreadable(shapes.Train, unreadable), shapes.Validation, "shapes with an unreadable batch");

        var straightRecorder = new Recorder();
        using var straight = new Trainer(options with { OutputDirectory = Path.Combine(_root, "dropped-straight") }, data, progress: straightRecorder);
        straight.Run().GlobalStep.Should().Be(6);
        straightRecorder.Steps.Select(r => r.GlobalStep).Should().Equal(2, 3, 4, 5, 6);

        using var cancel = new CancellationTokenSource();
        var recorder = new Recorder { AfterStep = r => { if (r.GlobalStep == 2) cancel.Cancel(); } };
        using (var first = new Trainer(options, data, progress: recorder))
            first.Run(cancellationToken: cancel.Token).GlobalStep.Should().Be(2, "step 0 was the dropped batch, step 1 the first trained");
        using var second = new Trainer(options, data);
        second.Run(resumeFrom: Path.Combine(options.OutputDirectory, CheckpointStore.LastFileName)).GlobalStep.Should().Be(6);
        TrainingAssertions.ShouldBeIdentical(straight.Model, second.Model);
    }

    /// <summary>A dataset whose listed samples cannot be read (as corrupt files under the Skip policy).</summary>
    private sealed class Unreadable(IImageDataset inner, IReadOnlySet<int> unreadable) : IImageDataset
    {
        public int Count => inner.Count;
        public IReadOnlyList<string> Classes => inner.Classes;
        public int GetLabel(int index) => inner.GetLabel(index);
        public SkiaSharp.SKBitmap? LoadImage(int index) => unreadable.Contains(index) ? null : inner.LoadImage(index);
    }

    [Fact]
    public void Should_reduce_the_loss_on_a_small_generated_image_folder()
    {
        // Write a tiny ImageNet-layout folder of PNGs: red and green circles (classes 0 and 5 of the shapes), with one
        // corrupt file that must be skipped and counted.
        var shapes = new SyntheticShapesDataset(new SyntheticShapesOptions { Count = 6 * 64, ImageSize = 64, NumClasses = 6, Seed = 3 });
        var indices = Enumerable.Range(0, shapes.Count).Where(i => shapes.GetLabel(i) is 0 or 5).ToList();
        for (int n = 0; n < indices.Count; n++)
        {
            int index = indices[n];
            string dir = Path.Combine(_root, "folder", n < 96 ? "train" : "val", shapes.Classes[shapes.GetLabel(index)]);
            Directory.CreateDirectory(dir);
            using var image = shapes.LoadImage(index);
            TestImages.Save(image, Path.Combine(dir, $"{n:000}.png"));
        }
        File.WriteAllText(Path.Combine(_root, "folder", "train", shapes.Classes[0], "zz-corrupt.png"), "not a png");
        var skipped = new List<string>();
        var data = TrainingData.Open(Path.Combine(_root, "folder"), new ImageFolderOptions { Log = skipped.Add });

        var recorder = new Recorder();
        using var trainer = new Trainer(Tiny("folder") with { Epochs = 4, MaxStepsPerEpoch = 0, LabelSmoothing = 0, EmaDecay = null, MinCropScale = 0.8, ColorJitter = 0, InputSize = 64, EvalResizeSize = 64, ClipGradNorm = null, BatchSize = 16, ReferenceBatchSize = 16 }, data, progress: recorder);
        var result = trainer.Run();

        var losses = recorder.Steps.Select(s => s.Loss).ToList();
        losses.Take(8).Average().Should().BeGreaterThan(losses.TakeLast(8).Average() * 1.5, "the loss should fall: {0}", string.Join(", ", losses.Select(l => l.ToString("0.000"))));
        ((ImageFolderDataset)data.Train).SkippedCount.Should().Be(1);
        skipped.Should().ContainSingle().Which.Should().Contain("zz-corrupt.png");
        File.Exists(Path.Combine(trainer.Options.OutputDirectory, "loss.png")).Should().BeTrue();
        File.Exists(Path.Combine(trainer.Options.OutputDirectory, "accuracy.png")).Should().BeTrue();
        File.Exists(Path.Combine(trainer.Options.OutputDirectory, "lr.png")).Should().BeTrue();
        result.BestCheckpoint.Should().NotBeNull();
    }

    [Theory]
    [InlineData("sgd")]
    [InlineData("rmsproptf")]
    public void Should_not_grow_the_number_of_live_tensors_over_many_steps(string optimizer)
    {
        var recorder = new Recorder();
        var options = Tiny("memory") with { Epochs = 1, MaxStepsPerEpoch = 0, Optimizer = optimizer, Nesterov = optimizer == "sgd" };
        using var trainer = new Trainer(options, Shapes(count: 128), progress: recorder);
        trainer.Run();
        recorder.LiveTensors.Should().HaveCount(16);
        // From the second step on (the first creates the momentum buffers and square averages) the count is flat.
        recorder.LiveTensors.Skip(1).Should().AllBeEquivalentTo(recorder.LiveTensors[1], "live tensors per step: {0}", string.Join(", ", recorder.LiveTensors));
    }

    [Fact]
    public void Should_stop_on_a_nan_loss_and_keep_the_last_good_checkpoint()
    {
        Trainer? trainer = null;
        var recorder = new Recorder
        {
            // Poison the weights after the first epoch's checkpoint: the next loss is NaN.
            AfterEpoch = _ => { using var noGrad = torch.no_grad(); foreach (var p in trainer!.Model.parameters()) p.fill_(double.NaN); },
        };
        var options = Tiny("nan");
        trainer = new Trainer(options, Shapes(), progress: recorder);
        using (trainer)
        {
            var act = () => trainer.Run();
            act.Should().Throw<TrainingDivergedException>()
                .WithMessage("*NaN at epoch 2, step 1 of 2 (global step 2)*last good checkpoint*")
                .Which.Epoch.Should().Be(2);
        }
        using var kept = TrainingCheckpoint.Read(Path.Combine(options.OutputDirectory, CheckpointStore.LastFileName));
        kept.Epoch.Should().Be(1);
        kept.ModelState.Values.Should().OnlyContain(t => !t.isnan().any().item<bool>());
    }

    [Fact]
    public void Should_leave_the_previous_checkpoint_intact_when_a_save_crashes()
    {
        var options = Tiny("crash") with { Epochs = 1, MaxStepsPerEpoch = 1 };
        using var trainer = new Trainer(options, Shapes());
        trainer.Run();
        var store = new CheckpointStore(options.OutputDirectory);
        string last = store.LastPath;
        byte[] before = File.ReadAllBytes(last);

        using var model = trainer.Model;
        store.WrapStream = s => new FailingStream(s, failAfter: 4096);
        var checkpoint = new TrainingCheckpoint
        {
            Model = options.Model, Width = 0.35, IdentityMultiplier = 1, Classes = ["a", "b", "c", "d"], Epoch = 7, Step = 99, StepsPerEpoch = 1,
            Options = options, ModelState = trainer.Model.state_dict(), MomentumBuffers = new Dictionary<string, torch.Tensor>(),
        };
        var act = () => store.Save(checkpoint, isBest: true);
        act.Should().Throw<IOException>().WithMessage("*simulated crash*");

        File.ReadAllBytes(last).Should().Equal(before);
        using (var read = TrainingCheckpoint.Read(last)) read.Epoch.Should().Be(1);
        Directory.GetFiles(options.OutputDirectory, "*.tmp").Should().BeEmpty();
    }

    [Fact]
    public void Should_refuse_to_resume_with_another_optimizer()
    {
        var options = Tiny("sgd-run") with { Epochs = 1, MaxStepsPerEpoch = 1, EmaDecay = null };
        using (var trainer = new Trainer(options, Shapes())) trainer.Run();
        string checkpoint = Path.Combine(options.OutputDirectory, CheckpointStore.LastFileName);

        using var other = new Trainer(options with { Optimizer = "rmsproptf", Nesterov = false, OutputDirectory = Path.Combine(_root, "rms-run") }, Shapes());
        var act = () => other.Run(resumeFrom: checkpoint);
        act.Should().Throw<InvalidDataException>().WithMessage("*trained with the sgd optimizer, this run uses rmsproptf*same optimizer*");
    }

    [Fact]
    public void Should_read_options_written_before_the_optimizer_choice_as_SGD_with_the_cosine()
    {
        // A checkpoint's options JSON from before Optimizer/Schedule existed: the defaults must be what those runs used.
        var old = System.Text.Json.JsonSerializer.Deserialize<TrainingOptions>("""{"Preset":"released","Nesterov":true,"CooldownEpochs":10}""")!;
        old.Optimizer.Should().Be("sgd");
        old.Schedule.Should().Be("cosine");
        old.Invoking(o => o.Validate()).Should().NotThrow();
    }

    [Fact]
    public void Should_refuse_a_checkpoint_of_another_architecture()
    {
        var options = Tiny("arch") with { Epochs = 1, MaxStepsPerEpoch = 1, EmaDecay = null };
        using (var trainer = new Trainer(options, Shapes())) trainer.Run();
        string checkpoint = Path.Combine(options.OutputDirectory, CheckpointStore.LastFileName);

        using var other = new Trainer(options with { Model = "mobilenetv2_035", OutputDirectory = Path.Combine(_root, "arch2") }, Shapes());
        var act = () => other.Run(resumeFrom: checkpoint);
        act.Should().Throw<InvalidDataException>().WithMessage("*holds mobilenext_035*but this run trains mobilenetv2_035*");
    }

    [Fact]
    public void Should_refuse_to_overwrite_a_checkpoint_when_not_resuming()
    {
        var options = Tiny("twice") with { Epochs = 1, MaxStepsPerEpoch = 1, EmaDecay = null };
        using (var trainer = new Trainer(options, Shapes())) trainer.Run();
        using var again = new Trainer(options, Shapes());
        var act = () => again.Run();
        act.Should().Throw<IOException>().WithMessage("*already holds a checkpoint*--resume*");
    }

    [Fact]
    public void Should_refuse_a_GPU_it_cannot_have_before_writing_anything()
    {
        var options = Tiny("gpu") with { Device = "cuda" };
        var act = () => new Trainer(options, Shapes());
        if (torch.cuda.is_available())
        {
            using var trainer = act();
            trainer.Device.type.Should().Be(DeviceType.CUDA);
            return;
        }
        act.Should().Throw<NotSupportedException>().WithMessage("*no CUDA support*libtorch-cuda-*--device cpu*");
        Directory.Exists(options.OutputDirectory).Should().BeFalse("the device is checked before the output folder is made");
    }

    [Theory]
    [InlineData("mobilenext_fig4a_100")] // Table 10's variants and Sec. 4.4's ablations, as `mobilenext train -m <name>` builds them
    [InlineData("mobilenext_fig4b_100")]
    [InlineData("mobilenext_fig4c_100")]
    [InlineData("mobilenext_narrow_shortcut_100")]
    [InlineData("mobilenext_relu6_residual_100")]
    public void Should_train_the_block_variants_by_name(string model)
    {
        var recorder = new Recorder();
        using var trainer = new Trainer(Tiny(model) with { Model = model, Epochs = 1, MaxStepsPerEpoch = 2, EmaDecay = null }, Shapes(), progress: recorder);
        var result = trainer.Run();
        recorder.Steps.Should().HaveCount(2);
        recorder.Steps.Should().OnlyContain(s => double.IsFinite(s.Loss) && s.Loss > 0);
        result.Epochs.Should().ContainSingle();
        File.Exists(Path.Combine(trainer.Options.OutputDirectory, CheckpointStore.LastFileName)).Should().BeTrue();
    }

    [Fact]
    public void Should_train_on_the_cpu_when_asked_by_name()
    {
        using var trainer = new Trainer(Tiny("cpu") with { Device = "CPU", Epochs = 1, MaxStepsPerEpoch = 1, EmaDecay = null }, Shapes());
        trainer.Device.type.Should().Be(DeviceType.CPU);
        trainer.Model.parameters().Should().OnlyContain(p => p.device_type == DeviceType.CPU);
        trainer.Run().Epochs.Should().ContainSingle();
    }

    [Fact]
    public void Should_say_when_the_batch_is_larger_than_the_dataset()
    {
        var act = () => new Trainer(Tiny("batch") with { BatchSize = 64 }, Shapes(count: 32));
        act.Should().Throw<ArgumentException>().WithMessage("Batch size 64 is larger than the 32 training samples of test shapes; use --batch-size 32 or less.*");
    }

    [Fact]
    public void Should_say_when_the_output_folder_is_not_writable()
    {
        string file = Path.Combine(_root, "a-file");
        File.WriteAllText(file, "");
        var act = () => new Trainer(Tiny("x") with { OutputDirectory = Path.Combine(file, "out") }, Shapes());
        act.Should().Throw<UnauthorizedAccessException>().WithMessage("Output folder '*' is not writable*--output*");
    }

    [Fact]
    public void Should_say_when_the_dataset_folder_is_missing_or_not_split()
    {
        var missing = () => TrainingData.Open(Path.Combine(_root, "nowhere"));
        missing.Should().Throw<DirectoryNotFoundException>().WithMessage("*does not exist*");
        Directory.CreateDirectory(Path.Combine(_root, "empty"));
        var empty = () => TrainingData.Open(Path.Combine(_root, "empty"));
        empty.Should().Throw<InvalidDataException>().WithMessage("*train/ and val/*");
    }

    private sealed class FailingStream(Stream inner, long failAfter) : Stream
    {
        private long _written;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _written;
        public override long Position { get => _written; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count)
        {
            if (_written + count > failAfter) throw new IOException("simulated crash during the save");
            inner.Write(buffer, offset, count);
            _written += count;
        }
    }
}
