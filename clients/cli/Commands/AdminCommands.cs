using System.CommandLine;
using DesMoe.Cli.Remote;
using DesMoe.Formats.Data;
using DesMoe.Protos.V1;
using Grpc.Core;
using Example = DesMoe.Formats.Data.Example;

namespace DesMoe.Cli.Commands;

/// <summary>Operator commands: add-domain, remove-domain, jobs, job watch|cancel, versions, rollback.</summary>
internal static class AdminCommands
{
    public static IEnumerable<Command> Create() => [AddDomain(), RemoveDomain(), Jobs(), Job(), Versions(), Rollback()];

    private static Command AddDomain()
    {
        var address = ServerConnection.AddressOption();
        var token = AdminToken.Option();
        var name = new Option<string>("--name") { Description = "the new domain's name", Required = true };
        var data = new Option<string>("--data") { Description = "training examples, JSONL {\"prompt\", \"completion\"}", Required = true };
        var eval = new Option<string?>("--eval") { Description = "held-out examples (default: the server holds out part of --data)" };
        var steps = new Option<uint>("--steps") { Description = "training steps (0 = the server's default)" };
        var watch = new Option<bool>("--watch") { Description = "follow the job: progress bar, then the evaluation table" };
        var command = new Command("add-domain", "Upload a new domain's examples to a running server, which adapts, checks, exports and swaps in a new model version.")
        {
            address, token, name, data, eval, steps, watch,
        };
        command.SetAction((parse, cancellation) => CliErrors.RunAsync(async () =>
        {
            var train = Jsonl.Read(parse.GetValue(data)!);
            var held = parse.GetValue(eval) is { } evalFile ? Jsonl.Read(evalFile) : [];
            using var channel = ServerConnection.Open(parse.GetValue(address)!);
            var client = new Adaptation.AdaptationClient(channel);
            var job = await Submit(client, parse.GetValue(name)!, train, held, parse.GetValue(steps), AdminToken.Headers(parse.GetValue(token)), cancellation);
            Console.WriteLine($"job {job.Id} queued: {job.TrainExamples} training and {job.EvalExamples} held-out examples, from {job.BaseVersion}");
            if (!parse.GetValue(watch)) return 0;
            var done = await JobView.WatchAsync(client, job.Id, cancellation);
            return done.State == JobState.Succeeded ? 0 : CliErrors.Failure;
        }));
        return command;
    }

    /// <summary>Streams the header and the examples in batches; returns the queued job.</summary>
    public static async Task<Job> Submit(Adaptation.AdaptationClient client, string name, IReadOnlyList<Example> train, IReadOnlyList<Example> eval,
        uint steps, Metadata headers, CancellationToken cancellation)
    {
        using var call = client.AddDomain(headers, cancellationToken: cancellation);
        try
        {
            await call.RequestStream.WriteAsync(new AddDomainRequest { Header = new AddDomainHeader { Name = name, Budget = new TrainingBudget { Steps = steps } } }, cancellation);
            foreach (var chunk in train.Chunk(512)) await call.RequestStream.WriteAsync(new AddDomainRequest { Train = Batch(chunk) }, cancellation);
            foreach (var chunk in eval.Chunk(512)) await call.RequestStream.WriteAsync(new AddDomainRequest { Eval = Batch(chunk) }, cancellation);
            await call.RequestStream.CompleteAsync();
        }
        catch (RpcException) when (!cancellation.IsCancellationRequested)
        {
            // The server refused the upload before reading all of it (bad name, no credential...): its reason is the call's status.
        }
        return await call.ResponseAsync;
    }

    private static Command RemoveDomain()
    {
        var address = ServerConnection.AddressOption();
        var token = AdminToken.Option();
        var name = new Argument<string>("name") { Description = "the domain to remove (one added as expert copies)" };
        var watch = new Option<bool>("--watch") { Description = "follow the job, then show what it compared" };
        var command = new Command("remove-domain", "Drop a domain and its expert copies: a job that checks every other path is bit-identical, then swaps in a new version.")
        {
            address, token, name, watch,
        };
        command.SetAction((parse, cancellation) => CliErrors.RunAsync(async () =>
        {
            using var channel = ServerConnection.Open(parse.GetValue(address)!);
            var client = new Adaptation.AdaptationClient(channel);
            var job = await client.RemoveDomainAsync(new RemoveDomainRequest { Name = parse.GetValue(name)! }, AdminToken.Headers(parse.GetValue(token)), cancellationToken: cancellation);
            Console.WriteLine(JobView.Line(job));
            if (!parse.GetValue(watch)) return 0;
            var done = await JobView.WatchAsync(client, job.Id, cancellation);
            return done.State == JobState.Succeeded ? 0 : CliErrors.Failure;
        }));
        return command;
    }

    private static ExampleBatch Batch(IEnumerable<Example> examples)
    {
        var batch = new ExampleBatch();
        batch.Examples.AddRange(examples.Select(e => new Protos.V1.Example { Prompt = e.Prompt, Completion = e.Completion }));
        return batch;
    }

    private static Command Jobs()
    {
        var address = ServerConnection.AddressOption();
        var command = new Command("jobs", "List adaptation jobs, newest first.") { address };
        command.SetAction((parse, cancellation) => CliErrors.RunAsync(async () =>
        {
            using var channel = ServerConnection.Open(parse.GetValue(address)!);
            var response = await new Adaptation.AdaptationClient(channel).ListJobsAsync(new ListJobsRequest(), cancellationToken: cancellation);
            if (response.Jobs.Count == 0) Console.WriteLine("(no jobs)");
            foreach (var job in response.Jobs) Console.WriteLine(JobView.Line(job));
            return 0;
        }));
        return command;
    }

    private static Command Job()
    {
        var address = ServerConnection.AddressOption();
        var id = new Argument<string>("job-id");
        var watch = new Command("watch", "Follow a job to its end.") { address, id };
        watch.SetAction((parse, cancellation) => CliErrors.RunAsync(async () =>
        {
            using var channel = ServerConnection.Open(parse.GetValue(address)!);
            var done = await JobView.WatchAsync(new Adaptation.AdaptationClient(channel), parse.GetValue(id)!, cancellation);
            return done.State == JobState.Succeeded ? 0 : CliErrors.Failure;
        }));
        var cancelAddress = ServerConnection.AddressOption();
        var cancelId = new Argument<string>("job-id");
        var token = AdminToken.Option();
        var cancel = new Command("cancel", "Cancel a queued or running job; the served model is untouched.") { cancelAddress, cancelId, token };
        cancel.SetAction((parse, cancellation) => CliErrors.RunAsync(async () =>
        {
            using var channel = ServerConnection.Open(parse.GetValue(cancelAddress)!);
            var job = await new Adaptation.AdaptationClient(channel).CancelJobAsync(new JobRequest { JobId = parse.GetValue(cancelId)! },
                AdminToken.Headers(parse.GetValue(token)), cancellationToken: cancellation);
            Console.WriteLine(JobView.Line(job));
            return 0;
        }));
        return new Command("job", "One adaptation job.") { watch, cancel };
    }

    private static Command Versions()
    {
        var address = ServerConnection.AddressOption();
        var command = new Command("versions", "Model versions on the server, oldest first; * marks the one in service.") { address };
        command.SetAction((parse, cancellation) => CliErrors.RunAsync(async () =>
        {
            using var channel = ServerConnection.Open(parse.GetValue(address)!);
            var response = await new Adaptation.AdaptationClient(channel).ListModelVersionsAsync(new ListModelVersionsRequest(), cancellationToken: cancellation);
            foreach (var v in response.Versions)
                Console.WriteLine($"{(v.Serving ? "*" : " ")} {v.Id}  {v.Created.ToDateTimeOffset():yyyy-MM-dd HH:mm:ss}  parent {(v.Parent.Length > 0 ? v.Parent : "-"),-6} " +
                                  $"domains [{string.Join(", ", v.Domains)}]{(v.JobId.Length > 0 ? $"  job {v.JobId}" : "")}");
            return 0;
        }));
        return command;
    }

    private static Command Rollback()
    {
        var address = ServerConnection.AddressOption();
        var token = AdminToken.Option();
        var version = new Argument<string>("version") { Description = "the version to serve (default: the served version's parent)", DefaultValueFactory = _ => "" };
        var command = new Command("rollback", "Serve an earlier model version again.") { address, token, version };
        command.SetAction((parse, cancellation) => CliErrors.RunAsync(async () =>
        {
            using var channel = ServerConnection.Open(parse.GetValue(address)!);
            var served = await new Adaptation.AdaptationClient(channel).RollbackAsync(new RollbackRequest { Version = parse.GetValue(version)! },
                AdminToken.Headers(parse.GetValue(token)), cancellationToken: cancellation);
            Console.WriteLine($"serving {served.Id} (domains [{string.Join(", ", served.Domains)}])");
            return 0;
        }));
        return command;
    }
}
