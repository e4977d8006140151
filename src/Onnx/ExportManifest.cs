using System.Text.Json;
using System.Text.Json.Serialization;

namespace DesMoe.Onnx;

/// <summary>The small JSON file written next to <c>model.onnx</c>: what was exported, from what, and how it checked out.</summary>
public sealed record ExportManifest
{
    public const string FileName = "desmoe_export.json";

    [JsonPropertyName("format_version")] public int FormatVersion { get; init; }
    [JsonPropertyName("model_file")] public string ModelFile { get; init; } = "";
    [JsonPropertyName("model_bytes")] public long ModelBytes { get; init; }
    /// <summary>The ONNX external-data file holding the weights, beside <see cref="ModelFile"/>; null when they are inside it.</summary>
    [JsonPropertyName("external_data_file")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ExternalDataFile { get; init; }
    [JsonPropertyName("opset")] public long Opset { get; init; }
    [JsonPropertyName("ir_version")] public long IrVersion { get; init; }
    [JsonPropertyName("nodes")] public int Nodes { get; init; }
    [JsonPropertyName("initializers")] public int Initializers { get; init; }
    [JsonPropertyName("parameters")] public long Parameters { get; init; }
    [JsonPropertyName("expert_kernel")] public string ExpertKernel { get; init; } = "";
    [JsonPropertyName("weight_precision")] public string WeightPrecision { get; init; } = "";
    [JsonPropertyName("expert_quantization")] public string ExpertQuantization { get; init; } = "None";
    [JsonPropertyName("quantized_compute")] public string QuantizedCompute { get; init; } = "Float32";
    [JsonPropertyName("no_domain_routing")] public string NoDomainRouting { get; init; } = "";
    [JsonPropertyName("domains")] public IReadOnlyList<string> Domains { get; init; } = [];
    [JsonPropertyName("source_folder")] public string SourceFolder { get; init; } = "";
    [JsonPropertyName("source_sha256")] public string SourceSha256 { get; init; } = "";
    [JsonPropertyName("parity_max_abs_error")] public IReadOnlyDictionary<string, double> ParityMaxAbsError { get; init; } = new Dictionary<string, double>();
    /// <summary>Per domain, the largest |reference logit| in the check: the scale the int8-compute bound is relative to.</summary>
    [JsonPropertyName("parity_max_abs_logit")] public IReadOnlyDictionary<string, double> ParityMaxAbsLogit { get; init; } = new Dictionary<string, double>();

    public string ToJson() => JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true });
}
