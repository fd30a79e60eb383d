using MobileNeXt.Search.Operations;

namespace MobileNeXt.Search.Network;

/// <summary>
/// The shape of a search network. Defaults are DARTS's CIFAR-10 search network (Liu et al. 2018, Sec. 3.1.1: "a
/// network of 8 cells … initial number of channels 16"; quark0/darts <c>cnn/train_search.py</c> <c>--layers 8</c>,
/// <c>--init_channels 16</c>; <c>model_search.py</c> <c>steps=4, multiplier=4, stem_multiplier=3</c>).
/// </summary>
public sealed record SearchNetworkOptions
{
    /// <summary>The candidate operations. Default <see cref="SearchSpace.Darts"/>.</summary>
    public SearchSpace Space { get; init; } = SearchSpace.Darts;

    /// <summary>Initial node width C (doubled at each reduction cell). Default 16.</summary>
    public int Channels { get; init; } = 16;

    /// <summary>Cells; the ones at ⌊L/3⌋ and ⌊2L/3⌋ are reduction cells. Default 8.</summary>
    public int Layers { get; init; } = 8;

    /// <summary>Intermediate nodes per cell. Default 4.</summary>
    public int Steps { get; init; } = 4;

    /// <summary>Nodes concatenated into a cell's output. Default 4.</summary>
    public int Multiplier { get; init; } = 4;

    /// <summary>The stem's width as a multiple of C. Default 3.</summary>
    public int StemMultiplier { get; init; } = 3;

    /// <summary>Image channels. Default 3 (Fashion-MNIST is read as RGB).</summary>
    public int InputChannels { get; init; } = 3;

    /// <summary>Classes. Default 10.</summary>
    public int Classes { get; init; } = 10;

    /// <summary>Checks every value; the message says what to change.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Space, nameof(Space));
        Space.Validate();
        if (Channels < 2 || Channels % 2 != 0) throw new ArgumentException($"Channels must be even and at least 2 (factorised reduces halve it); got {Channels}.");
        if (Layers < 1) throw new ArgumentException($"Layers must be at least 1; got {Layers}.");
        if (Steps < 1) throw new ArgumentException($"Steps must be at least 1; got {Steps}.");
        if (Multiplier < 1 || Multiplier > Steps + 2) throw new ArgumentException($"Multiplier must be between 1 and Steps + 2 = {Steps + 2}; got {Multiplier}.");
        if (StemMultiplier < 1) throw new ArgumentException($"StemMultiplier must be at least 1; got {StemMultiplier}.");
        if (InputChannels < 1) throw new ArgumentException($"InputChannels must be at least 1; got {InputChannels}.");
        if (Classes < 2) throw new ArgumentException($"Classes must be at least 2; got {Classes}.");
    }

    /// <summary>Whether cell <paramref name="index"/> is a reduction cell (at 1/3 and 2/3 of the depth).</summary>
    public bool IsReduction(int index) => index == Layers / 3 || index == 2 * Layers / 3;
}
