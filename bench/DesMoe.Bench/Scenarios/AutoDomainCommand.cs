using DesMoe.Cli.Commands;
using System.CommandLine;
using System.Diagnostics;
using DesMoe.Cli.Remote;
using DesMoe.Formats.Data;
using DesMoe.Protos.V1;

namespace DesMoe.Bench.Scenarios;

/// <summary>
/// <c>desmoe-bench scenario auto-domain</c>: how well the server serves clients that do not name a domain. Built-in
/// domains the server does not serve yet are added first (one AddDomain job each); then fresh examples of every
/// domain, and of the general set, are sent three ways: with the domain named, with the domain left empty (the
/// server infers it), and on the plain router ("none"). The command prints per domain how often the inferred domain
/// was right, the mean confidence, and the exact-match accuracy of each way, plus the extra time inference took.
/// </summary>
internal static class AutoDomainCommand
{
    public static Command Create()
    {
        var address = ServerConnection.AddressOption();
        var token = AdminToken.Option();
        var domains = new Option<string>("--domains") { Description = "built-in domains to measure (added first when not served)", DefaultValueFactory = _ => "intent,code" };
        var count = new Option<int>("--examples") { Description = "fresh examples per domain and of the general set", DefaultValueFactory = _ => 200 };
        var steps = new Option<uint>("--steps") { Description = "training steps of the jobs that add missing domains (0 = the server's default)" };

        var command = new Command("auto-domain", "Measure domain inference: for each domain, inference accuracy and exact match with the domain named, inferred, and on the plain router.")
        {
            address, token, domains, count, steps,
        };
        command.SetAction((parse, cancellation) => CliErrors.RunAsync(async () =>
        {
            var names = parse.GetValue(domains)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            using var channel = ServerConnection.Open(parse.GetValue(address)!);
            var inference = new Inference.InferenceClient(channel);
            var adaptation = new Adaptation.AdaptationClient(channel);
            var served = (await inference.ListDomainsAsync(new ListDomainsRequest(), cancellationToken: cancellation)).Domains.Select(d => d.Name).ToHashSet();
            foreach (var name in names.Where(n => !served.Contains(n)))
            {
                var split = DatasetSplit.Create(DomainCatalog.Get(name), 1200, 100, seed: 11);
                var job = await AdminCommands.Submit(adaptation, name, split.Train, split.Eval, parse.GetValue(steps), AdminToken.Headers(parse.GetValue(token)), cancellation);
                Console.WriteLine($"adding '{name}' (job {job.Id})");
                var done = await JobView.WatchAsync(adaptation, job.Id, cancellation);
                if (done.State != JobState.Succeeded) throw new InvalidOperationException($"adding '{name}' ended {JobView.State(done.State)}: {done.Message}");
            }
            var info = await inference.GetModelInfoAsync(new GetModelInfoRequest(), cancellationToken: cancellation);
            Console.WriteLine($"\nversion {info.ModelVersion}; {parse.GetValue(count)} examples per set drawn with seed 97 (the jobs and reference prompts used seed 11; a generator may repeat a phrase)");
            Console.WriteLine($"{"set",-14} {"inferred right",15} {"confidence",11} {"named",8} {"inferred",9} {"plain",8}   (exact match)");

            var extra = new List<double>();
            foreach (var set in names.Append(DomainCatalog.GeneralName))
            {
                var examples = DatasetSplit.Generate(DomainCatalog.Get(set), parse.GetValue(count), seed: 97);
                bool general = set == DomainCatalog.GeneralName;
                int right = 0, named = 0, inferred = 0, plain = 0;
                double confidence = 0;
                foreach (var e in examples)
                {
                    var auto = await Ask(inference, e.Prompt, "", cancellation);
                    var none = await Ask(inference, e.Prompt, "none", cancellation);
                    var labelled = general ? none : await Ask(inference, e.Prompt, set, cancellation);
                    extra.Add(auto.Seconds - none.Seconds);
                    if (auto.Response.Domain == (general ? "" : set)) right++;
                    confidence += auto.Response.DomainConfidence;
                    named += labelled.Response.Text == e.Completion ? 1 : 0;
                    inferred += auto.Response.Text == e.Completion ? 1 : 0;
                    plain += none.Response.Text == e.Completion ? 1 : 0;
                }
                double n = examples.Count;
                Console.WriteLine($"{set,-14} {right / n,15:P1} {confidence / n,11:P0} {named / n,8:P1} {inferred / n,9:P1} {plain / n,8:P1}");
            }
            extra.Sort();
            Console.WriteLine($"\ninference adds {extra[extra.Count / 2] * 1000:F2} ms per request (median over {extra.Count}, client-side, one prefill of the prompt)");
            return 0;
        }));
        return command;
    }

    private static async Task<(GenerateResponse Response, double Seconds)> Ask(Inference.InferenceClient client, string prompt, string domain, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var response = await client.GenerateAsync(new GenerateRequest { Text = prompt, Domain = domain }, cancellationToken: cancellation);
        return (response, clock.Elapsed.TotalSeconds);
    }
}
