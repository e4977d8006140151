using DesMoe.Formats.Hub;

namespace DesMoe.Torch.Safetensors;

public static class HubFolderWeights
{
    /// <summary>The folder's checkpoint: <c>model.safetensors</c>, or the shards its index names.</summary>
    public static SafetensorsCheckpoint OpenWeights(this HubFolder hub) => SafetensorsCheckpoint.Open(hub.Path);
}
