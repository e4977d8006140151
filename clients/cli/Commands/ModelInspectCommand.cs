using System.CommandLine;
using DesMoe.Torch.Inspection;

namespace DesMoe.Cli.Commands;

/// <summary><c>desmoe model inspect FOLDER</c>: describes a Hugging Face hub checkpoint on disk (no server, no weights loaded).</summary>
internal static class ModelInspectCommand
{
    public static Command Create()
    {
        var folder = new Argument<string>("folder") { Description = "hub-layout folder: config.json, model*.safetensors, optionally tokenizer.json and generation_config.json" };
        var command = new Command("inspect", "Architecture, layers, parameter counts, experts, dtype, tokenizer and eos ids of a hub checkpoint folder.") { folder };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            foreach (var line in ModelInspector.Inspect(parse.GetValue(folder)!).Lines()) Console.WriteLine(line);
            return 0;
        }));
        return command;
    }
}
