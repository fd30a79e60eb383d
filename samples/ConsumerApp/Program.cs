// A console app that uses the MobileNeXt.Core package as the README's quick start shows.
using MobileNeXt.Interop;
using MobileNeXt.Models;
using MobileNeXt.Profiling;
using TorchSharp;

var folder = Directory.CreateTempSubdirectory("mobilenext-consumer").FullName;
var weights = Path.Combine(folder, "mobilenext_050.pth");

// The released MobileNeXt-0.5 with α = 1/2; save and reload its weights in PyTorch's format.
using var model = ModelRegistry.Create("mobilenext_050", new ModelCreateOptions { IdentityMultiplier = 0.5 });
ModelWeights.SavePyTorch(model, weights);
ModelWeights.Load(model, weights);
model.eval();

using var _ = torch.no_grad();
using var images = torch.randn(2, 3, 224, 224);
using var logits = model.call(images);
using var fused = model.Fuse();
using var fusedLogits = fused.call(images);
var taps = model.ForwardFeatureTaps(images);
var report = ModelProfiler.Profile(model);
double gap = (logits - fusedLogits).abs().max().item<float>();

Console.WriteLine($"logits [{string.Join(", ", logits.shape)}]; taps {string.Join(" ", taps.Select(t => $"[{string.Join(",", t.shape)}]"))}");
Console.WriteLine($"params {report.TotalParams:N0}, MACs {report.TotalMacs:N0}; fused vs unfused max |Δ| {gap:E1}");
Directory.Delete(folder, recursive: true);
return report.TotalParams == ModelRegistry.GetCard("mobilenext_050").Params && gap < 1e-4 ? 0 : 1;
