using static TorchSharp.torch;

namespace MobileNeXt.Layers;

/// <summary>
/// The identity tensor multiplier α (Sec. 3.3, Eq. 4): <c>G[:, :⌊αC⌋] = φ(F)[:, :⌊αC⌋] + F[:, :⌊αC⌋]</c>,
/// the remaining channels of <c>G</c> are <c>φ(F)</c> unchanged.
/// </summary>
public static class IdentityShortcut
{
    /// <summary>
    /// ⌊αC⌋, the number of channels that receive the input. A relative tolerance of 1e-9 absorbs the
    /// representation error of α = 1.0/d, so that α = 1/6 of 960 channels is 160, as the released
    /// code's integer division <c>C // d</c> gives.
    /// </summary>
    public static int Channels(double alpha, int channels)
    {
        Architecture.IdentityShortcutValidation.Validate(alpha);
        return (int)Math.Floor(alpha * channels * (1 + 1e-9));
    }

    /// <summary>
    /// Adds <paramref name="input"/>'s first ⌊αC⌋ channels to <paramref name="residual"/> in place and returns it.
    /// <paramref name="residual"/> must be a fresh tensor the caller owns (the residual branch's output).
    /// </summary>
    public static Tensor AddInPlace(Tensor residual, Tensor input, double alpha)
    {
        int c = (int)input.shape[1];
        int k = Channels(alpha, c);
        if (k == c) return residual.add_(input, KeptScalars.One);
        if (k == 0) return residual;
        using var head = residual.narrow(1, 0, k);
        using var source = input.narrow(1, 0, k);
        head.add_(source, KeptScalars.One);
        return residual;
    }
}
