using System.CommandLine;
using DesMoe.Cli.Commands;

var root = new RootCommand("DesMoe: adapt a Mixture-of-Experts model to many domains without forgetting, and serve it.")
{
    PretrainCommand.Create(),
    AdaptCommand.Create(),
    CompareCommand.Create(),
    EvalCommand.Create(),
    ExportCommand.Create(),
    ExtendCommand.Create(),
    DataCommand.Create(),
};
foreach (var command in ServerCommands.Create().Concat(AdminCommands.Create())) root.Subcommands.Add(command);
return await root.Parse(args).InvokeAsync();
