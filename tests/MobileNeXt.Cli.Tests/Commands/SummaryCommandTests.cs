namespace MobileNeXt.Cli.Tests.Commands;

/// <summary><c>mobilenext summary</c>: one row per block.</summary>
public class SummaryCommandTests
{
    [Fact]
    public void Should_show_Table_2s_first_sandglass_block_and_the_pinned_totals()
    {
        var run = Cli.Run("summary", "mobilenext_100").ShouldSucceed();

        // Table 2, row 2: the first sandglass block takes 112²×32 to 56²×96 with stride 2 and reduction ratio t = 2
        // (hidden 32 / 2 = 16), no shortcut (its input and output differ). Its parameters: dw 3×3 on 32 (288) + BN (64),
        // pw 32→16 (512) + BN (32), pw 16→96 (1,536) + BN (192), dw 3×3 stride 2 on 96 (864) + BN (192) = 3,680; its MACs:
        // (288 + 512 + 1,536)·112² + 864·56² = 32,012,288.
        run.Row("features.1").Should().Equal("features.1", "sandglass", "32>96", "16", "2", "–", "56²×96", "3,680", "32.01");
        // README "The numbers": 3,535,416 params, 311,342,592 MACs.
        run.Lines.Should().Contain(l => l.StartsWith("Total: 3.535 M params, 311.3 M MACs,"));
    }

    [Fact]
    public void Should_say_which_models_exist_and_exit_1_for_an_unknown_model()
    {
        Cli.Run("summary", "mobilenext_999").ShouldFailWith(1, "Unknown model 'mobilenext_999'. Available: mobilenext_035, *mobilenext_100, *");
    }

    [Fact]
    public void Should_exit_2_when_the_model_is_missing()
    {
        Cli.Run("summary").ShouldFailWith(2, "Required argument missing for command: 'summary'. Run 'mobilenext summary --help' for usage.");
    }
}
