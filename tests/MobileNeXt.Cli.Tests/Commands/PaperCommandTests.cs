namespace MobileNeXt.Cli.Tests.Commands;

/// <summary><c>mobilenext paper</c>: the paper's tables beside this implementation.</summary>
public class PaperCommandTests
{
    [Fact]
    public void Should_print_every_table_it_names_and_Table_3s_MobileNeXt_row_beside_the_pinned_size()
    {
        var run = Cli.Run("paper").ShouldSucceed();

        foreach (var title in new[] { "Table 2 —", "Table 3 —", "Table 5 —", "Table 6 —", "Table 10 —", "Sec. 4.4 —" })
            run.Lines.Should().Contain(l => l.StartsWith(title), $"'paper' prints {title}");
        // Table 3: MobileNeXt-1.0 3.4 M params, 300 M MAdds, 74.0 %; ours (README "The numbers") 3,535,416 and 311,342,592.
        run.TableRows.Should().Contain(r => r.Take(8).SequenceEqual(new[] { "mobilenext_100", "3.4", "3.535", "+0.135", "300", "311.3", "+11.3", "74.0" }));
        // Table 2, row 2 (the first sandglass block): 56²×96, repeated once, in the paper and here.
        run.TableRows.Should().Contain(r => r[0] == "2" && r[2] == "56²×96" && r[3] == "56²×96" && r[4] == "1" && r[5] == "1");
    }
}
