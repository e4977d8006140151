namespace DesMoe.Formats.Files;

/// <summary>The models committed under <c>models/</c> and copied next to every program that references Core.</summary>
public static class BundledModel
{
    /// <summary>
    /// The bundled base model the server and the CLI default to: <c>models/base-v2</c>, a DeepSeek-V2-style hub folder
    /// (3.96M parameters, multi-head latent attention, 32 routed + 2 shared experts) pre-trained on real English text,
    /// the string skills and a share of each domain's kind of text (docs/model.md).
    /// </summary>
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "models", "base-v2");

    /// <summary>
    /// The first bundled model, <c>models/base</c> (2.0M parameters, pre-trained on six string operations only). Kept where
    /// its answers must be known exactly (it copies, reverses, sorts... at over 90%): the tests of serving and adaptation
    /// mechanics, and the GenAI peer benchmark, since ONNX Runtime GenAI cannot hold base-v2's latent KV cache.
    /// </summary>
    public static string StringSkillsFolder => Path.Combine(AppContext.BaseDirectory, "models", "base");
}
