using System.Reflection;
using DesMoe.Exporter.Onnx.Schema;
using Google.Protobuf;

namespace DesMoe.Exporter.Onnx;

/// <summary>Wraps a built graph in a <see cref="ModelProto"/> (IR version, opset imports, metadata) and writes it.</summary>
public static class OnnxModelFile
{
    public static ModelProto Create(GraphBuilder graph, IReadOnlyDictionary<string, string> metadata)
    {
        var model = new ModelProto
        {
            IrVersion = OnnxFormat.IrVersion,
            ProducerName = "desmoe-exporter",
            ProducerVersion = typeof(OnnxModelFile).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0",
            Domain = "ai.desmoe",
            ModelVersion = 1,
            Graph = graph.Graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OnnxFormat.Opset });
        if (graph.OperatorDomains.Contains(OnnxFormat.MicrosoftDomain))
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = OnnxFormat.MicrosoftDomain, Version = OnnxFormat.MicrosoftOpset });
        foreach (var (key, value) in metadata)
            model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return model;
    }

    public static long Write(ModelProto model, string path)
    {
        using (var stream = File.Create(path))
            model.WriteTo(stream);
        return new FileInfo(path).Length;
    }
}
