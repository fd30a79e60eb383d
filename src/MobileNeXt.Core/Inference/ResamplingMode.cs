namespace MobileNeXt.Inference;

/// <summary>The interpolation used when a crop is resized.</summary>
public enum ResamplingMode
{
    /// <summary>Bilinear (torchvision's default for RandomResizedCrop and Resize).</summary>
    Bilinear,

    /// <summary>Bicubic, Catmull-Rom (Keys a = −0.5, PIL's and torchvision's bicubic kernel).</summary>
    Bicubic,
}
