using System.Runtime.CompilerServices;
using System.Text.Json;
using MobileNeXt.Detection.Boxes;
using MobileNeXt.Interop;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileNeXt.Detection.Tests;

/// <summary>Shared helpers: the native check and the SSDLite320-MobileNeXt reference fixture (Fixtures/README.md).</summary>
internal static class TestSupport
{
    [ModuleInitializer]
    internal static void CheckNativeLibrary()
    {
        try { TorchRuntime.EnsureAvailable(); }
        catch (NativeLibraryUnavailableException e) { Console.Error.WriteLine("error: " + e.Message); }
        torch.set_num_threads(Math.Max(1, Environment.ProcessorCount));
    }

    public static string Reference(string file) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "ssdlite320_mobilenext_voc", file);

    private static readonly Lazy<Dictionary<string, Tensor>> vectors = new(() =>
    {
        TorchRuntime.EnsureAvailable();
        return ModelWeights.Read(Reference("vectors.pt"));
    });

    /// <summary>The reference arrays (input [2,3,320,320], scores [2,3234,21], boxes [2,3234,4], priors [3234,4]); shared, do not dispose.</summary>
    public static IReadOnlyDictionary<string, Tensor> Vectors => vectors.Value;

    private static readonly Lazy<JsonElement> manifest = new(() => JsonDocument.Parse(File.ReadAllText(Reference("manifest.json"))).RootElement);

    /// <summary>The fixture's manifest.json (parameter and MAC counts, state_dict keys).</summary>
    public static JsonElement Manifest => manifest.Value;

    /// <summary>The 100 detections of image 0 after the released post-processor (detections.json).</summary>
    public static IReadOnlyList<DetectedObject> ReferenceDetections()
    {
        var root = JsonDocument.Parse(File.ReadAllText(Reference("detections.json"))).RootElement;
        var boxes = root.GetProperty("boxes").EnumerateArray().Select(b => b.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToList();
        var labels = root.GetProperty("labels").EnumerateArray().Select(v => v.GetInt32()).ToList();
        var scores = root.GetProperty("scores").EnumerateArray().Select(v => v.GetSingle()).ToList();
        return boxes.Select((b, i) => new DetectedObject(b[0], b[1], b[2], b[3], labels[i], scores[i])).ToList();
    }

    /// <summary>The released detector with the fixture's weights, in eval mode.</summary>
    public static SsdLite ReferenceDetector()
    {
        var model = SsdLite.CreateMobileNeXt();
        ModelWeights.Load(model, Reference("state_dict.pt"));
        model.eval();
        return model;
    }

    public static float MaxAbsDiff(Tensor a, Tensor b)
    {
        using var d = (a - b).abs().max();
        return d.item<float>();
    }

    /// <summary>
    /// Asserts that raw class logits and box regressions of the reference input match scores.npy and boxes.npy within
    /// 5e-4 (Fixtures/README.md: other correct float32 evaluations in PyTorch move them by up to 2.3e-4); returns the
    /// two largest differences.
    /// </summary>
    public static (float Scores, float Boxes) ShouldMatchTheReferenceOutputs(Tensor scores, Tensor boxes)
    {
        float scoreDiff = MaxAbsDiff(scores, Vectors["scores"]), boxDiff = MaxAbsDiff(boxes, Vectors["boxes"]);
        scoreDiff.Should().BeLessThan(5e-4f);
        boxDiff.Should().BeLessThan(5e-4f);
        return (scoreDiff, boxDiff);
    }

    /// <summary>
    /// Asserts that <paramref name="actual"/> holds every reference detection (Fixtures/README.md: same label, box within
    /// 0.05 px, score within 1e-4), each matched once, and nothing else.
    /// </summary>
    public static void ShouldMatchAsASet(IReadOnlyList<DetectedObject> actual, IReadOnlyList<DetectedObject> expected)
    {
        actual.Should().HaveCount(expected.Count);
        var unmatched = actual.ToList();
        foreach (var e in expected)
        {
            var match = unmatched.FirstOrDefault(a => a.Label == e.Label && Math.Abs(a.Score - e.Score) <= 1e-4f
                && Math.Abs(a.X1 - e.X1) <= 0.05f && Math.Abs(a.Y1 - e.Y1) <= 0.05f && Math.Abs(a.X2 - e.X2) <= 0.05f && Math.Abs(a.Y2 - e.Y2) <= 0.05f);
            match.Should().NotBeNull($"the reference detection {e} should be found");
            unmatched.Remove(match!);
        }
    }
}
