namespace DesMoe.Formats.Hub;

/// <summary>What one decoder layer's feed-forward is, for building it and for <c>model inspect</c>.</summary>
/// <param name="Prefix">its checkpoint prefix, e.g. <c>model.layers.3.mlp</c></param>
/// <param name="RoutedExperts">0 for a dense MLP</param>
/// <param name="SharedExperts">experts every token uses (DeepSeek's n_shared_experts; 1 for Qwen2-MoE's shared expert)</param>
/// <param name="TopK">routed experts per token (0 for a dense MLP)</param>
/// <param name="RoutedExpertName">format of one routed expert's prefix under <paramref name="Prefix"/>, {0} = expert index</param>
public sealed record FeedForwardPlan(string Prefix, int RoutedExperts, int SharedExperts, int TopK, string RoutedExpertName = "experts.{0}")
{
    public bool IsMoe => RoutedExperts > 0;

    public static FeedForwardPlan Dense(string prefix) => new(prefix, 0, 0, 0);

    public string RoutedExpertPrefix(int expert) => $"{Prefix}.{string.Format(System.Globalization.CultureInfo.InvariantCulture, RoutedExpertName, expert)}.";
}
