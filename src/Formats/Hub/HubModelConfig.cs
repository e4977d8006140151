namespace DesMoe.Formats.Hub;

/// <summary>
/// A parsed <c>config.json</c>: the fields every supported architecture shares (<see cref="Common"/>) plus, in each
/// architecture's derived record, its own. <see cref="Layers"/> says which layers are dense and which MoE.
/// </summary>
public abstract record HubModelConfig(CommonFields Common)
{
    public string ModelType => Common.ModelType;
    public int VocabSize => Common.VocabSize;
    public int HiddenSize => Common.HiddenSize;
    public int NumLayers => Common.NumLayers;
    public int NumHeads => Common.NumHeads;
    public int NumKvHeads => Common.NumKvHeads;
    public double RmsNormEps => Common.RmsNormEps;
    public bool TieWordEmbeddings => Common.TieWordEmbeddings;
    public RopeSettings Rope => Common.Rope;

    public abstract IReadOnlyList<FeedForwardPlan> Layers { get; }
}

/// <summary>The fields all five architectures read the same way.</summary>
public sealed record CommonFields(string ModelType, int VocabSize, int HiddenSize, int NumLayers, int NumHeads, int NumKvHeads,
    double RmsNormEps, bool TieWordEmbeddings, int MaxPositions, RopeSettings Rope)
{
    public static CommonFields Read(ConfigJson config)
    {
        var activation = config.String("hidden_act", "silu");
        if (activation != "silu") throw config.Unsupported("hidden_act", activation, "silu");
        int heads = config.RequiredInt("num_attention_heads");
        int kvHeads = config.Int("num_key_value_heads", heads);
        if (kvHeads <= 0 || heads % kvHeads != 0)
            throw config.Inconsistent($"num_attention_heads {heads} is not a multiple of num_key_value_heads {kvHeads}");
        return new CommonFields(config.ModelType, config.RequiredInt("vocab_size"), config.RequiredInt("hidden_size"),
            config.RequiredInt("num_hidden_layers"), heads, kvHeads, config.Double("rms_norm_eps", 1e-6),
            config.Bool("tie_word_embeddings", false), config.Int("max_position_embeddings", 4096), RopeSettings.Read(config));
    }

    /// <summary>Layer indices listed in <paramref name="field"/> (e.g. <c>mlp_only_layers</c>), each checked to exist.</summary>
    public IReadOnlyList<int> LayerIndices(ConfigJson config, string field)
    {
        var indices = config.IntList(field);
        foreach (var index in indices)
            if (index < 0 || index >= NumLayers) throw config.Inconsistent($"{field} names layer {index}, but there are {NumLayers} layers");
        return indices;
    }
}
