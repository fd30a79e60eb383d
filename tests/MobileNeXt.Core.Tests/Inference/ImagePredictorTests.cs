using MobileNeXt.Inference;
using MobileNeXt.Models;
using MobileNeXt.Tests.Shared;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Core.Tests.Inference;

public class ImagePredictorTests
{
    /// <summary>The released width-0.5 reference weights: a network whose outputs are not all alike.</summary>
    private static ImageClassifier Model()
    {
        var model = ModelRegistry.Create("mobilenext_050");
        MobileNeXt.Interop.ModelWeights.Load(model, Path.Combine(TestSupport.ReferenceDir, "state_dict.pt"));
        return model;
    }

    private static readonly string[] Labels = Enumerable.Range(0, 1000).Select(i => $"class {i}").ToArray();

    [Fact]
    public void Should_rank_classes_by_the_softmax_of_the_models_logits_on_the_eval_pixels()
    {
        using var model = Model();
        using var image = TestImages.FromFunction(300, 240, (x, y) => new SKColor((byte)x, (byte)(y * 2), (byte)(x + y)));
        using var predictor = new ImagePredictor(model, Labels);
        var top = predictor.Predict(image, topK: 5);

        model.eval();
        using var input = EvalPreprocessing.ImageNet.ToTensor(image);
        using var __ = no_grad();
        using var probabilities = nn.functional.softmax(model.call(input), 1);
        var expected = probabilities.data<float>().ToArray();
        top.Select(p => p.ClassIndex).Should().Equal(Enumerable.Range(0, 1000).OrderByDescending(i => expected[i]).Take(5));
        foreach (var p in top)
        {
            p.Probability.Should().BeApproximately(expected[p.ClassIndex], 1e-5f, "the fused copy equals the model within 1e-5");
            p.Label.Should().Be(Labels[p.ClassIndex]);
        }
        top.Select(p => p.Probability).Should().BeInDescendingOrder();
    }

    [Fact]
    public void Should_give_the_same_answer_for_a_file_a_stream_bytes_and_a_batch()
    {
        using var folder = new TempFolder();
        using var image = TestImages.FromFunction(200, 260, (x, y) => new SKColor((byte)(x * 3), (byte)y, 90));
        string path = Path.Combine(folder.Path, "image.png");
        TestImages.Save(image, path);
        using var model = Model();
        using var predictor = new ImagePredictor(model);

        var fromFile = predictor.Predict(path, 2);
        var bytes = File.ReadAllBytes(path);
        using var stream = new MemoryStream(bytes);
        predictor.Predict(stream, 2).Should().Equal(fromFile);
        predictor.Predict(bytes.AsSpan(), 2).Should().Equal(fromFile);
        // A batch of two runs other kernels than a batch of one: the same classes, probabilities within float rounding.
        predictor.PredictFiles([path, path], 2).Should().AllSatisfy(row =>
            row.Should().Equal(fromFile, (a, b) => a.ClassIndex == b.ClassIndex && Math.Abs(a.Probability - b.Probability) < 1e-5f));
        fromFile.Should().OnlyContain(p => p.Label == null);
    }

    [Fact]
    public void Should_say_what_is_wrong_with_bad_input()
    {
        using var folder = new TempFolder();
        string text = Path.Combine(folder.Path, "notes.jpg");
        File.WriteAllText(text, "not an image");
        using var model = Model();
        using var predictor = new ImagePredictor(model);
        predictor.Invoking(p => p.Predict(text)).Should().Throw<InvalidDataException>().WithMessage($"*{text}*not a readable image*");
        predictor.Invoking(p => p.Predict(Path.Combine(folder.Path, "missing.png"))).Should().Throw<FileNotFoundException>().WithMessage("*does not exist*");
        predictor.Invoking(p => p.Predict(new ReadOnlySpan<byte>())).Should().Throw<InvalidDataException>().WithMessage("*empty*");
        var act = () => new ImagePredictor(model, ["only", "two"]);
        act.Should().Throw<ArgumentException>().WithMessage("2 labels were given for a model with 1000 classes*");
    }
}
