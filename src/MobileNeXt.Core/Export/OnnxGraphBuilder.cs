using Google.Protobuf;
using Onnx;
using static TorchSharp.torch;

namespace MobileNeXt.Export;

/// <summary>
/// Collects the nodes and initializers of one ONNX graph. Every node has one output named after the node, so a
/// value's name says which module made it; constants (Clip bounds, Slice indices) are shared initializers.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    private readonly HashSet<string> names = [];
    private readonly HashSet<string> constants = [];

    public GraphProto Graph { get; } = new();

    /// <summary>Appends a node and returns its output's name, which is <paramref name="name"/>.</summary>
    public string Node(string opType, string name, IEnumerable<string> inputs, params AttributeProto[] attributes)
    {
        Claim(name);
        var node = new NodeProto { OpType = opType, Name = name };
        node.Input.Add(inputs);
        node.Output.Add(name);
        node.Attribute.Add(attributes);
        Graph.Node.Add(node);
        return name;
    }

    /// <summary>A float32 initializer holding <paramref name="tensor"/>'s values, copied in one block.</summary>
    public string Weight(string name, Tensor tensor)
    {
        Claim(name);
        using var scope = NewDisposeScope();
        var cpu = tensor.detach().to(ScalarType.Float32, CPU).contiguous();
        // raw_data is little-endian float32, which is the layout of a contiguous CPU tensor on the platforms libtorch supports.
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(cpu.bytes) };
        proto.Dims.Add(tensor.shape);
        Graph.Initializer.Add(proto);
        return name;
    }

    /// <summary>A float32 scalar (rank-0) initializer, shared by every node that uses the same value.</summary>
    public string Scalar(float value) => Constant($"const_f32_{value.ToString(System.Globalization.CultureInfo.InvariantCulture)}", name =>
    {
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        proto.FloatData.Add(value);
        return proto;
    });

    /// <summary>A 1-D int64 initializer, shared by every node that uses the same values.</summary>
    public string Int64s(params long[] values) => Constant($"const_i64_{string.Join("_", values)}", name =>
    {
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        proto.Dims.Add(values.Length);
        proto.Int64Data.Add(values);
        return proto;
    });

    /// <summary>Declares a float32 graph input or output; a dimension is a fixed size (long) or a symbolic name (string).</summary>
    public static ValueInfoProto FloatValue(string name, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d is string param ? new TensorShapeProto.Types.Dimension { DimParam = param } : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d) });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }

    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Ints(string name, IEnumerable<long> values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.Add(values);
        return attribute;
    }

    private string Constant(string name, Func<string, TensorProto> create)
    {
        if (constants.Add(name))
        {
            Claim(name);
            Graph.Initializer.Add(create(name));
        }
        return name;
    }

    private void Claim(string name)
    {
        if (!names.Add(name)) throw new InvalidOperationException($"ONNX export produced the value name '{name}' twice.");
    }
}
