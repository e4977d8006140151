using static TorchSharp.torch;
using DesMoe.Formats.Architectures;

namespace DesMoe.Torch.Checkpoints;

/// <summary>
/// What a model loaded from a hub folder needs to be saved back in the layout and spelling it came in: the
/// parameter names, each tensor's stored dtype, and the folder's own small files (config.json,
/// generation_config.json, tokenizer files, chat template, licence...), kept byte for byte.
/// </summary>
/// <param name="Shards">for a sharded checkpoint, the shard file each tensor was in (so it is saved back in the same
/// shards under the same index); null for a single <c>model.safetensors</c></param>
public sealed record HubOrigin(HubParameterNames Names, IReadOnlyDictionary<string, ScalarType> StoredTypes,
    IReadOnlyDictionary<string, byte[]> Files, IReadOnlyDictionary<string, string>? Shards = null);
