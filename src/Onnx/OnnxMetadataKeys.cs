namespace DesMoe.Onnx;

/// <summary>Keys of the exported model's <c>metadata_props</c>; ONNX Runtime exposes them as custom metadata.</summary>
public static class OnnxMetadataKeys
{
    /// <summary>Bumped whenever the graph's inputs, outputs or semantics change.</summary>
    public const string FormatVersion = "desmoe.format_version";
    public const int CurrentFormatVersion = 1;

    /// <summary>JSON array of domain names; a domain's id is its index.</summary>
    public const string Domains = "desmoe.domains";

    /// <summary>The model folder's <c>tokenizer.json</c>.</summary>
    public const string Tokenizer = "desmoe.tokenizer";

    /// <summary>The model folder's <c>config.json</c>.</summary>
    public const string Config = "desmoe.config";

    /// <summary>The domain -> experts assignment the routing tables were built from (JSON), absent without domains.</summary>
    public const string ExpertAssignment = "desmoe.expert_assignment";

    /// <summary>What domain id -1 routes to: AllExperts or UnassignedExperts.</summary>
    public const string NoDomainRouting = "desmoe.no_domain_routing";

    /// <summary>SHA-256 of the source <c>model.safetensors</c>.</summary>
    public const string SourceSha256 = "desmoe.source_sha256";

    public const string ExpertKernel = "desmoe.expert_kernel";
    public const string WeightPrecision = "desmoe.weight_precision";
    /// <summary>Routed experts' storage: None, Int8 or Int4 (blockwise, com.microsoft.MatMulNBits).</summary>
    public const string ExpertQuantization = "desmoe.expert_quantization";
    public const string QuantizedCompute = "desmoe.quantized_compute";
}
