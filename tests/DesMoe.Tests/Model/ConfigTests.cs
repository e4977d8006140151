using DesMoe.Formats.Config;
using DesMoe.Tests.Support;
using Xunit;

namespace DesMoe.Tests.Model;

public class ConfigTests
{
    [Fact]
    public void Top_k_above_the_expert_count_is_rejected_with_both_numbers()
    {
        var error = Assert.Throws<InvalidDataException>(() => (TinyModels.Config() with { TopK = 9, NumRoutedExperts = 4 }).Validate());
        Assert.Contains("num_experts_per_tok (9) exceeds n_routed_experts (4)", error.Message);
    }

    [Fact]
    public void Every_inconsistency_is_listed()
    {
        var error = Assert.Throws<InvalidDataException>(() => (TinyModels.Config() with { HiddenSize = 30, NumKvHeads = 3, VocabSize = 0 }).Validate());
        Assert.Contains("vocab_size must be positive", error.Message);
        Assert.Contains("hidden_size (30) is not divisible by num_attention_heads (4)", error.Message);
        Assert.Contains("num_attention_heads (4) is not divisible by num_key_value_heads (3)", error.Message);
    }

    [Fact]
    public void Json_uses_hugging_face_field_names_and_round_trips()
    {
        var config = MoeConfig.Small(260);
        var json = config.ToJson();
        foreach (var field in new[] { "num_hidden_layers", "num_key_value_heads", "n_routed_experts", "n_shared_experts", "num_experts_per_tok", "moe_intermediate_size", "rope_theta", "max_position_embeddings" })
            Assert.Contains($"\"{field}\"", json);
        Assert.Equal(config, MoeConfig.FromJson(json));
    }
}
