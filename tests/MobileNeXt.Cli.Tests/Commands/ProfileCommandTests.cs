using System.Text.Json;

namespace MobileNeXt.Cli.Tests.Commands;

/// <summary><c>mobilenext profile --json</c>: the profiler's totals, machine-readable.</summary>
public class ProfileCommandTests
{
    [Theory]
    // README "The numbers" (pinned by the Core tests): params and conv + linear MACs at 224², 1000 classes.
    [InlineData("mobilenext_100", 3_535_416, 311_342_592)]
    [InlineData("mobilenetv2_100", 3_504_872, 300_774_272)]
    public void Should_print_JSON_with_the_pinned_params_and_MACs(string model, long parameters, long macs)
    {
        var json = Profile(model);

        json.GetProperty("model").GetString().Should().Be(model);
        json.GetProperty("inputSize").GetInt32().Should().Be(224);
        json.GetProperty("numClasses").GetInt32().Should().Be(1000);
        json.GetProperty("params").GetInt64().Should().Be(parameters);
        json.GetProperty("macs").GetInt64().Should().Be(macs);
        json.GetProperty("ops").GetInt64().Should().Be(macs + json.GetProperty("elementwiseOps").GetInt64());
    }

    [Fact]
    public void Should_read_a_fractional_identity_multiplier_which_removes_half_the_shortcut_additions_and_no_weights()
    {
        var full = Profile("mobilenext_100");
        var half = Profile("mobilenext_100", "-a", "1/2");

        half.GetProperty("identityMultiplier").GetDouble().Should().Be(0.5);
        // Sec. 3.3: α only chooses how many channels the shortcut adds; the convolutions are the same.
        half.GetProperty("params").GetInt64().Should().Be(3_535_416);
        half.GetProperty("macs").GetInt64().Should().Be(311_342_592);
        // The shortcut blocks of Table 2 (b as built: 3 at 960) each add C/2 fewer channels per pixel:
        // 2·96·28² + 2·144·14² + 3·192·14² + 3·288·7² + 2·480·7² = 409,248 element-wise operations fewer.
        (full.GetProperty("elementwiseOps").GetInt64() - half.GetProperty("elementwiseOps").GetInt64()).Should().Be(409_248);
    }

    [Fact]
    public void Should_exit_2_with_the_accepted_forms_when_the_identity_multiplier_is_not_a_number()
    {
        Cli.Run("profile", "mobilenext_100", "--identity-multiplier", "half")
            .ShouldFailWith(2, "Cannot parse 'half' as a number for --identity-multiplier; use e.g. 0.5 or 1/2. Run 'mobilenext profile --help' for usage.");
    }

    [Fact]
    public void Should_exit_1_naming_the_range_when_the_identity_multiplier_is_outside_0_to_1()
    {
        Cli.Run("profile", "mobilenext_100", "-a", "3/2").ShouldFailWith(1, "The identity tensor multiplier α must lie in [0, 1] (Sec. 3.3*); got 1.5.");
    }

    [Fact]
    public void Should_exit_1_naming_the_flag_when_the_class_count_is_negative()
    {
        Cli.Run("profile", "mobilenext_100", "--classes", "-1").ShouldFailWith(1, "--classes must be 0 (no classifier) or positive; got -1.");
    }

    private static JsonElement Profile(params string[] arguments)
    {
        var run = Cli.Run(["profile", .. arguments, "--json"]).ShouldSucceed();
        return JsonDocument.Parse(run.Stdout).RootElement.Clone();
    }
}
