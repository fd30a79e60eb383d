namespace MobileNeXt.Training.Data;

/// <summary>What a dataset does with a file that cannot be decoded as an image.</summary>
public enum CorruptImagePolicy
{
    /// <summary>Skip the sample, count it and log its path once (the default).</summary>
    Skip,

    /// <summary>Throw an <see cref="InvalidDataException"/> naming the file.</summary>
    Throw,
}
