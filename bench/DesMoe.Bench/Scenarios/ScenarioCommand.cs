using DesMoe.Cli.Commands;
using System.CommandLine;
using System.Diagnostics;
using DesMoe.Bench.Load;
using DesMoe.Cli.Remote;
using DesMoe.Formats.Data;
using DesMoe.Protos.V1;

namespace DesMoe.Bench.Scenarios;

/// <summary>
/// <c>desmoe-bench scenario add-domain</c>: the online-adaptation scenario against a running server. Streaming clients run
/// throughout; built-in domains are added through AddDomain one after the other; the command prints for each the time
/// until it is served, its accuracy and every earlier set's accuracy before and after, then the requests that failed
/// during the jobs and swaps, and the latency with and without a job running.
/// </summary>
internal static class ScenarioCommand
{
    public static Command Create()
    {
        var address = ServerConnection.AddressOption();
        var token = AdminToken.Option();
        var domains = new Option<string>("--domains") { Description = "built-in domains to add, one job after the other", DefaultValueFactory = _ => "intent,code" };
        var steps = new Option<uint>("--steps") { Description = "training steps (0 = the server's default)" };
        var clients = new Option<int>("--clients") { Description = "streaming clients running throughout", DefaultValueFactory = _ => 4 };
        var baseline = new Option<double>("--baseline-seconds") { Description = "seconds of load measured before the job", DefaultValueFactory = _ => 20 };
        var trainCount = new Option<int>("--train-examples") { DefaultValueFactory = _ => 1200 };
        var evalCount = new Option<int>("--eval-examples") { DefaultValueFactory = _ => 100 };

        var addDomain = new Command("add-domain", "Add built-in domains to a running server, one job after the other, under streaming load, and report the outcome.")
        {
            address, token, domains, steps, clients, baseline, trainCount, evalCount,
        };
        addDomain.SetAction((parse, cancellation) => CliErrors.RunAsync(async () =>
        {
            var names = parse.GetValue(domains)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            using var channel = ServerConnection.Open(parse.GetValue(address)!);
            var inference = new Inference.InferenceClient(channel);
            var adaptation = new Adaptation.AdaptationClient(channel);
            var info = await inference.GetModelInfoAsync(new GetModelInfoRequest(), cancellationToken: cancellation);
            var served = await inference.ListDomainsAsync(new ListDomainsRequest(), cancellationToken: cancellation);
            if (served.Domains.FirstOrDefault(d => names.Contains(d.Name)) is { } already)
                throw new ArgumentException($"the server already serves '{already.Name}' (version {info.ModelVersion}); roll back or pick other --domains");
            Console.WriteLine($"server {parse.GetValue(address)}: version {info.ModelVersion} on {info.ExecutionProvider}, domains [{string.Join(", ", served.Domains.Select(d => d.Name))}]");

            var load = new LoadGenerator(inference, new LoadRequest(["reverse hello world", "upper stream me", "copy batching", "sort 9817263", "last router"], [""], 32, IgnoreEndOfText: true));
            int n = parse.GetValue(clients);
            Console.WriteLine($"baseline: {n} streaming clients for {parse.GetValue(baseline):G} s without a job");
            var quiet = await load.RunAsync(n, TimeSpan.FromSeconds(parse.GetValue(baseline)), cancellation);

            using var stopLoad = new CancellationTokenSource();
            var busyTask = load.RunAsync(n, TimeSpan.FromHours(1), cancellation, stopLoad.Token);
            var outcomes = new List<(string Name, Job Job, TimeSpan ToServed, bool Served)>();
            foreach (var name in names)
            {
                var split = DatasetSplit.Create(DomainCatalog.Get(name), parse.GetValue(trainCount), parse.GetValue(evalCount), seed: 11);
                var clock = Stopwatch.StartNew();
                var job = await AdminCommands.Submit(adaptation, name, split.Train, split.Eval, parse.GetValue(steps), AdminToken.Headers(parse.GetValue(token)), cancellation);
                Console.WriteLine($"\njob {job.Id}: adding '{name}' ({job.TrainExamples} training, {job.EvalExamples} held-out examples) while the clients stream");
                var done = await JobView.WatchAsync(adaptation, job.Id, cancellation);
                bool isServed = (await inference.ListDomainsAsync(new ListDomainsRequest(), cancellationToken: cancellation)).Domains.Any(d => d.Name == name);
                outcomes.Add((name, done, clock.Elapsed, isServed));
            }
            await Task.Delay(TimeSpan.FromSeconds(3), cancellation); // traffic on the last version
            stopLoad.Cancel();
            var busy = await busyTask;

            Console.WriteLine("\n== summary");
            foreach (var (name, done, toServed, isServed) in outcomes)
            {
                Console.WriteLine($"'{name}': {JobView.State(done.State)}; {(isServed ? $"served {toServed.TotalSeconds:F1} s after AddDomain (version {done.ResultVersion})" : $"not served ({done.Message})")}");
                if (done.Evaluation?.Scores.FirstOrDefault(s => s.Name == name) is { } score)
                    Console.WriteLine($"  new-domain accuracy: {score.After:P1} on {score.Examples} held-out examples");
                foreach (var s in done.Evaluation?.Scores.Where(s => s.HasBefore) ?? [])
                    Console.WriteLine($"  earlier set {s.Name,-12} {s.Before,7:P1} before, {s.After,7:P1} after ({(s.After - s.Before) * 100:+0.0;-0.0} points; gate {done.Evaluation!.MaxAllowedDrop:P0})");
            }
            Console.WriteLine($"requests during the jobs and swaps: {busy.CompletedRequests} completed, {busy.FailedRequests} failed" +
                              string.Concat(busy.Failures.Select(f => $" [{f.Value} {f.Key}]")));
            Console.WriteLine($"{"latency (ms), 32-token streams",-32} {"TTFT p50",9} {"TTFT p95",9} {"ITL p50",8} {"ITL p95",8} {"tokens/s",9}");
            Console.WriteLine($"{"without a job",-32} {quiet.TimeToFirstToken.P50,9:F1} {quiet.TimeToFirstToken.P95,9:F1} {quiet.InterToken.P50,8:F2} {quiet.InterToken.P95,8:F2} {quiet.TokensPerSecond,9:F0}");
            Console.WriteLine($"{"with jobs running",-32} {busy.TimeToFirstToken.P50,9:F1} {busy.TimeToFirstToken.P95,9:F1} {busy.InterToken.P50,8:F2} {busy.InterToken.P95,8:F2} {busy.TokensPerSecond,9:F0}");
            return outcomes.All(o => o.Job.State == JobState.Succeeded) && busy.FailedRequests == 0 ? 0 : CliErrors.Failure;
        }));
        return new Command("scenario", "End-to-end scenarios against a running server.") { addDomain, SoakCommand.Create(), AutoDomainCommand.Create() };
    }
}
