using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using static TorchSharp.torch;
using DataType = Onnx.TensorProto.Types.DataType;

namespace MobileNeXt.Quantization;

/// <summary>ONNX initializers to and from plain arrays and TorchSharp tensors (little-endian raw data, as ONNX stores it).</summary>
internal static class OnnxTensors
{
    /// <summary>The saturation range of a quantized element type.</summary>
    public static (int Min, int Max) Range(DataType type) => type switch
    {
        DataType.Uint8 => (0, 255),
        DataType.Int8 => (-128, 127),
        DataType.Int32 => (int.MinValue, int.MaxValue),
        _ => throw new NotSupportedException($"Quantized type {type} is not supported."),
    };

    /// <summary>The values of a numeric initializer as a float32 CPU tensor of its shape (integers converted exactly up to 2²⁴).</summary>
    public static Tensor ToTensor(TensorProto proto)
    {
        var dims = proto.Dims.ToArray();
        var type = (DataType)proto.DataType;
        float[] values = type switch
        {
            DataType.Float => proto.RawData.Length > 0 ? MemoryMarshal.Cast<byte, float>(proto.RawData.Span).ToArray() : proto.FloatData.ToArray(),
            DataType.Int8 => proto.RawData.Span.ToArray().Select(b => (float)(sbyte)b).ToArray(),
            DataType.Uint8 => proto.RawData.Span.ToArray().Select(b => (float)b).ToArray(),
            DataType.Int32 => (proto.RawData.Length > 0 ? MemoryMarshal.Cast<byte, int>(proto.RawData.Span).ToArray() : proto.Int32Data.ToArray()).Select(v => (float)v).ToArray(),
            _ => throw new NotSupportedException($"Initializer '{proto.Name}' has element type {type}, which the TorchSharp runner does not read."),
        };
        return tensor(values, dims);
    }

    /// <summary>The values of an int64 initializer.</summary>
    public static long[] Int64s(TensorProto proto) =>
        proto.RawData.Length > 0 ? MemoryMarshal.Cast<byte, long>(proto.RawData.Span).ToArray() : proto.Int64Data.ToArray();

    /// <summary>The values of a float32 initializer.</summary>
    public static float[] Floats(TensorProto proto) =>
        proto.RawData.Length > 0 ? MemoryMarshal.Cast<byte, float>(proto.RawData.Span).ToArray() : proto.FloatData.ToArray();

    public static TensorProto Float(string name, float[] values, params long[] dims) =>
        Make(name, DataType.Float, MemoryMarshal.AsBytes(values.AsSpan()), dims);

    public static TensorProto Int8(string name, sbyte[] values, params long[] dims) =>
        Make(name, DataType.Int8, MemoryMarshal.AsBytes(values.AsSpan()), dims);

    public static TensorProto Uint8(string name, byte[] values, params long[] dims) =>
        Make(name, DataType.Uint8, values, dims);

    public static TensorProto Int32(string name, int[] values, params long[] dims) =>
        Make(name, DataType.Int32, MemoryMarshal.AsBytes(values.AsSpan()), dims);

    private static TensorProto Make(string name, DataType type, ReadOnlySpan<byte> raw, long[] dims)
    {
        var proto = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(raw) };
        proto.Dims.Add(dims);
        return proto;
    }
}
