using DesMoe.Formats.Config;

namespace DesMoe.Torch.Model;

/// <summary>DeepSeek's group-limited routing: experts in <paramref name="Count"/> equal groups, top-k taken from the best <paramref name="Kept"/>.</summary>
public sealed record RouterGroups(int Count, int Kept)
{
    public static readonly RouterGroups None = new(1, 1);

    public static RouterGroups Of(MoeConfig config) => new(config.RouterGroups, config.RouterGroupsKept);

    /// <summary>Whether some groups are dropped; keeping every group is plain top-k.</summary>
    public bool Limits => Kept < Count;
}
