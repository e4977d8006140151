using System.CommandLine;
using DesMoe.Formats.Files;

namespace DesMoe.Cli.Commands;

internal static class ModelOption
{
    public static Option<string> Create() => new("--model")
    {
        Description = "model folder (default: the bundled base model, models/base-v2)",
        DefaultValueFactory = _ => BundledModel.Folder,
    };

    /// <summary>For commands whose peer cannot load the default model: the string-skills model (models/base) instead.</summary>
    public static Option<string> StringSkills() => new("--model")
    {
        Description = "model folder (default: the bundled string-skills model, models/base; ONNX Runtime GenAI cannot hold models/base-v2's latent KV cache)",
        DefaultValueFactory = _ => BundledModel.StringSkillsFolder,
    };
}
