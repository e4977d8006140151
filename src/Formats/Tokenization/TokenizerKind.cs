namespace DesMoe.Formats.Tokenization;

public enum TokenizerKind
{
    /// <summary>BPE over GPT-2 byte characters after a regex split (GPT-2, Qwen, DeepSeek, OLMoE).</summary>
    ByteLevelBpe,

    /// <summary>BPE over text with spaces as '▁' and unknown characters as &lt;0xNN&gt; bytes (Llama, Mistral, Mixtral).</summary>
    MetaspaceBpe,
}
