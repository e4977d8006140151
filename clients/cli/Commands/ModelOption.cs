using System.CommandLine;
using DesMoe.Core.Checkpoints;

namespace DesMoe.Cli.Commands;

internal static class ModelOption
{
    public static Option<string> Create() => new("--model")
    {
        Description = "model folder (default: the bundled base model)",
        DefaultValueFactory = _ => BundledModel.Folder,
    };
}
