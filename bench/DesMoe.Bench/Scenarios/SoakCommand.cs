using DesMoe.Cli.Commands;
using System.Collections.Concurrent;
using System.CommandLine;
using System.Diagnostics;
using DesMoe.Bench.Load;
using DesMoe.Cli.Remote;
using DesMoe.Formats.Data;
using DesMoe.Protos.V1;
using Grpc.Core;

namespace DesMoe.Bench.Scenarios;

/// <summary>
/// <c>desmoe-bench scenario soak</c>: streaming clients run for the whole time while the model changes under them in
/// cycles: AddDomain (training, evaluation, export, swap), rollback to the version it was added to, roll forward to
/// the new version, rollback again (so every cycle adds the domain to the same base and the experts never run
/// out). Each request is counted in the phase it was sent in (a swap's phase lasts --settle-seconds after it);
/// the command prints, per phase, the requests, the failures by status code and the time-to-first-token percentiles.
/// </summary>
internal static class SoakCommand
{
    private sealed record Phase(string Name, long Start, long End);

    public static Command Create()
    {
        var address = ServerConnection.AddressOption();
        var token = AdminToken.Option();
        var minutes = new Option<double>("--minutes") { Description = "how long to run (the cycle in progress finishes)", DefaultValueFactory = _ => 10 };
        var clients = new Option<int>("--clients") { Description = "streaming clients running throughout", DefaultValueFactory = _ => 32 };
        var domain = new Option<string>("--domain") { Description = "built-in domain added in every cycle", DefaultValueFactory = _ => "intent" };
        var steps = new Option<uint>("--steps") { Description = "training steps per job (0 = the server's default)", DefaultValueFactory = _ => 150 };
        var settle = new Option<double>("--settle-seconds") { Description = "load after each swap before the next step of a cycle", DefaultValueFactory = _ => 10 };

        var command = new Command("soak", "Stream from many clients for a long time while AddDomain, rollback and roll-forward cycle; report failures and latency per phase.")
        {
            address, token, minutes, clients, domain, steps, settle,
        };
        command.SetAction((parse, cancellation) => CliErrors.RunAsync(async () =>
        {
            using var channel = ServerConnection.Open(parse.GetValue(address)!);
            var inference = new Inference.InferenceClient(channel);
            var adaptation = new Adaptation.AdaptationClient(channel);
            var admin = AdminToken.Headers(parse.GetValue(token));
            string name = parse.GetValue(domain)!;
            var info = await inference.GetModelInfoAsync(new GetModelInfoRequest(), cancellationToken: cancellation);
            var served = await inference.ListDomainsAsync(new ListDomainsRequest(), cancellationToken: cancellation);
            if (served.Domains.Any(d => d.Name == name)) throw new ArgumentException($"version {info.ModelVersion} already serves '{name}'; roll back first or pick another --domain");
            string baseVersion = info.ModelVersion;
            var split = DatasetSplit.Create(DomainCatalog.Get(name), 1200, 100, seed: 11);
            var pause = TimeSpan.FromSeconds(parse.GetValue(settle));
            var deadline = Stopwatch.StartNew();
            var budget = TimeSpan.FromMinutes(parse.GetValue(minutes));
            Console.WriteLine($"soak: {parse.GetValue(clients)} streaming clients for {budget.TotalMinutes:G} min on {parse.GetValue(address)} ({info.ExecutionProvider}), cycling AddDomain '{name}' / rollback / roll-forward / rollback on {baseVersion}");

            var outcomes = new ConcurrentBag<RequestOutcome>();
            var phases = new List<Phase>();
            var load = new LoadGenerator(inference, new LoadRequest(["reverse hello world", "upper stream me", "copy batching", "sort 9817263", "last router"], [""], 32, IgnoreEndOfText: true));
            using var stopLoad = new CancellationTokenSource();
            var loadTask = load.RunAsync(parse.GetValue(clients), TimeSpan.FromDays(1), cancellation, stopLoad.Token, outcomes.Add);

            async Task<T> During<T>(string phase, Func<Task<T>> action)
            {
                long start = Stopwatch.GetTimestamp();
                try
                {
                    return await action();
                }
                finally
                {
                    phases.Add(new Phase(phase, start, Stopwatch.GetTimestamp()));
                }
            }
            // A swap's phase is the call plus the settle time after it: the requests that meet the new engine first.
            Task Swap(string phase, string version) => During(phase, async () =>
            {
                await Rollback(adaptation, version, admin, cancellation);
                await Task.Delay(pause, cancellation);
                return true;
            });

            int cycles = 0;
            await During("steady", async () => { await Task.Delay(pause, cancellation); return true; });
            while (deadline.Elapsed < budget)
            {
                cycles++;
                var job = await During("add-domain job", async () =>
                {
                    var submitted = await AdminCommands.Submit(adaptation, name, split.Train, split.Eval, parse.GetValue(steps), admin, cancellation);
                    var end = await WaitForEnd(adaptation, submitted.Id, cancellation);
                    await Task.Delay(pause, cancellation); // the job's own swap, and the new version's first requests
                    return end;
                });
                Console.WriteLine($"cycle {cycles}: job {job.Id} {JobView.State(job.State)} ({job.Message}) at {deadline.Elapsed.TotalMinutes:F1} min");
                if (job.State != JobState.Succeeded) break;
                await Swap("rollback", baseVersion);
                await Swap("roll-forward", job.ResultVersion);
                await Swap("rollback", baseVersion);
            }
            stopLoad.Cancel();
            var total = await loadTask;

            Console.WriteLine($"\n{cycles} cycles in {deadline.Elapsed.TotalMinutes:F1} min; {total.CompletedRequests + total.FailedRequests} requests, {total.FailedRequests} failed" +
                              string.Concat(total.Failures.Select(f => $" [{f.Value} {f.Key}]")));
            Console.WriteLine($"{"phase",-16} {"seconds",8} {"requests",9} {"failed",7} {"TTFT p50",9} {"p95",7} {"p99",7}  failures by status");
            foreach (var group in phases.GroupBy(p => p.Name))
            {
                var mine = outcomes.Where(o => group.Any(p => o.Sent >= p.Start && o.Sent < p.End)).ToList();
                var ttft = LatencySummary.Of(mine.Where(o => o.TimeToFirstTokenMs is not null).Select(o => o.TimeToFirstTokenMs!.Value).ToList());
                var failed = mine.Where(o => o.Status != StatusCode.OK).GroupBy(o => o.Status).Select(g => $"{g.Key} {g.Count()}");
                double seconds = group.Sum(p => Stopwatch.GetElapsedTime(p.Start, p.End).TotalSeconds);
                Console.WriteLine($"{group.Key,-16} {seconds,8:F0} {mine.Count,9} {mine.Count(o => o.Status != StatusCode.OK),7} {ttft.P50,9:F1} {ttft.P95,7:F1} {ttft.P99,7:F1}  {string.Join(", ", failed)}");
            }
            return total.FailedRequests == 0 && cycles > 0 ? 0 : CliErrors.Failure;
        }));
        return command;
    }

    private static async Task<ModelVersion> Rollback(Adaptation.AdaptationClient client, string version, Metadata admin, CancellationToken cancellation) =>
        await client.RollbackAsync(new RollbackRequest { Version = version }, admin, cancellationToken: cancellation);

    private static async Task<Job> WaitForEnd(Adaptation.AdaptationClient client, string jobId, CancellationToken cancellation)
    {
        using var call = client.WatchJob(new JobRequest { JobId = jobId }, cancellationToken: cancellation);
        Job? last = null;
        await foreach (var job in call.ResponseStream.ReadAllAsync(cancellation)) last = job;
        return last ?? throw new InvalidOperationException($"job {jobId} reported nothing");
    }
}
