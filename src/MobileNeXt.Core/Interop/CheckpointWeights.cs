namespace MobileNeXt.Interop;

/// <summary>Which weights to take from a training-framework checkpoint (<c>.pth.tar</c>).</summary>
public enum CheckpointWeights
{
    /// <summary>
    /// <c>state_dict</c> when present, else <c>model</c> when it holds a dictionary (the checkpoints of the SSD/SSDLite
    /// trainers, ssd/utils/checkpoint.py: <c>model</c>, <c>optimizer</c>, <c>scheduler</c>, <c>iteration</c>), else the file
    /// itself is the state_dict.
    /// </summary>
    Auto,

    /// <summary>The model's own weights, <c>state_dict</c>.</summary>
    Model,

    /// <summary>The exponential moving average of the weights, <c>state_dict_ema</c>.</summary>
    Ema,
}
