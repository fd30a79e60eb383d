namespace MobileNeXt.Search.Search;

/// <summary>How the architecture gradient treats the weights' dependence on α (Liu et al. 2018, Sec. 2.3).</summary>
public enum SearchOrder
{
    /// <summary>First-order: ∇_α L_val(w, α), the current weights taken as optimal (ξ = 0; DARTS's default, <c>--unrolled</c> off).</summary>
    First = 1,

    /// <summary>
    /// Second-order: ∇_α L_val(w', α) at the weights after one unrolled SGD step, w' = w − ξ ∇_w L_train(w, α), with the
    /// Hessian-vector product of Eq. 7 by central differences (<c>--unrolled</c>).
    /// </summary>
    Second = 2,
}
