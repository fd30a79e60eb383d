using MobileNeXt.Models;

namespace MobileNeXt.Cli.Tests.Commands;

/// <summary><c>mobilenext models</c>: the registry as a table.</summary>
public class ModelsCommandTests
{
    [Fact]
    public void Should_list_every_registry_model_with_the_params_and_MACs_the_Core_tests_pin()
    {
        var run = Cli.Run("models").ShouldSucceed();

        run.TableRows.Select(r => r[0]).Should().Contain(ModelRegistry.Models.Select(m => m.Name));
        // README "The numbers": 3,535,416 params and 311,342,592 MACs (Core tests); the paper's Table 3 top-1 74.0 %.
        run.Row("mobilenext_100")[1..6].Should().Equal("MobileNeXt", "1.00", "3.535", "311.3", "74.0");
        // README "The numbers": 3,504,872 params and 300,774,272 MACs; Table 3 gives MobileNetV2-1.0 72.3 %.
        run.Row("mobilenetv2_100")[1..6].Should().Equal("MobileNetV2", "1.00", "3.505", "300.8", "72.3");
    }
}
