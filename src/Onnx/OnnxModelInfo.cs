using System.Text.Json;
using DesMoe.Formats.Experts;
using DesMoe.Formats.Config;
using DesMoe.Formats.Tokenization;

namespace DesMoe.Onnx;

/// <summary>What an exported model says about itself in its metadata: architecture, tokenizer and domains.</summary>
public sealed record OnnxModelInfo(MoeConfig Config, ITextTokenizer Tokenizer, IReadOnlyList<string> Domains, IReadOnlyDictionary<string, string> Metadata)
{
    public static OnnxModelInfo FromMetadata(IReadOnlyDictionary<string, string> metadata, string source)
    {
        string Required(string key) => metadata.TryGetValue(key, out var v)
            ? v : throw new InvalidDataException($"{source}: metadata '{key}' is missing; was this model written by the DesMoe exporter?");

        var version = Required(OnnxMetadataKeys.FormatVersion);
        if (version != OnnxMetadataKeys.CurrentFormatVersion.ToString())
            throw new InvalidDataException($"{source}: export format version {version} is not supported (expected {OnnxMetadataKeys.CurrentFormatVersion})");
        var config = MoeConfig.FromJson(Required(OnnxMetadataKeys.Config));
        var tokenizer = TokenizerFile.FromJson(Required(OnnxMetadataKeys.Tokenizer), source);
        var domains = JsonSerializer.Deserialize<string[]>(Required(OnnxMetadataKeys.Domains))
                      ?? throw new InvalidDataException($"{source}: metadata '{OnnxMetadataKeys.Domains}' is not a JSON array of names");
        return new OnnxModelInfo(config, tokenizer, domains, metadata);
    }

    /// <summary>The id the graph expects for <paramref name="domain"/>; empty means no domain (-1).</summary>
    public int DomainId(string domain)
    {
        if (string.IsNullOrEmpty(domain)) return ExpertAssignment.NoDomain;
        for (int id = 0; id < Domains.Count; id++)
            if (Domains[id] == domain) return id;
        throw new KeyNotFoundException($"unknown domain '{domain}'; this model serves [{string.Join(", ", Domains)}]");
    }
}
