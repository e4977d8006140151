using DesMoe.Cli.Commands;
using System.CommandLine;
using DesMoe.Bench.Load;
using DesMoe.Cli.Remote;
using DesMoe.Protos.V1;

namespace DesMoe.Bench.Commands;

/// <summary><c>desmoe-bench load</c>: the serving benchmark against a running server.</summary>
internal static class LoadBenchCommand
{
    private static readonly string[] DefaultPrompts =
        ["reverse hello world", "upper stream me", "copy batching", "sort 9817263", "length abcdefghij", "last router", "reverse experts", "upper grpc"];

    public static Command Create()
    {
        var address = ServerConnection.AddressOption();
        var clients = new Option<string>("--clients") { Description = "comma-separated numbers of concurrent streaming clients, one level each", DefaultValueFactory = _ => "1,8,32" };
        var duration = new Option<double>("--duration") { Description = "seconds each level sends new requests", DefaultValueFactory = _ => 20 };
        var maxTokens = new Option<uint>("--max-new-tokens") { Description = "new tokens per request", DefaultValueFactory = _ => 64 };
        var domains = new Option<string>("--domains") { Description = "comma-separated domains the clients cycle through (empty = no domain)", DefaultValueFactory = _ => "" };
        var prompts = new Option<string?>("--prompts") { Description = "a text file with one prompt per line (default: built-in general-set prompts)" };
        var stopAtEnd = new Option<bool>("--stop-at-end") { Description = "let requests end at the end token (default: each decodes exactly --max-new-tokens)" };
        var temperature = new Option<float>("--temperature") { Description = "sample at this temperature (default 0: greedy)" };
        var topK = new Option<uint>("--top-k") { Description = "with --temperature: keep the k most likely tokens (0 = off)" };
        var topP = new Option<float>("--top-p") { Description = "with --temperature: keep the nucleus of this probability (0 or 1 = off)" };
        var warmUp = new Option<double>("--warm-up")
        {
            Description = "untimed seconds of load, spread over the levels, before the timed ones: a fresh server's JIT keeps re-compiling its hot paths for seconds of load",
            DefaultValueFactory = _ => 10,
        };

        var protocol = new Option<string>("--protocol")
        {
            Description = "grpc, http (the OpenAI-compatible API, POST /v1/completions streamed), or both as grpc,http: each level runs once per protocol, alternating",
            DefaultValueFactory = _ => "grpc",
        };
        var httpAddress = new Option<string>("--http-address")
        {
            Description = "the server's HTTP API (default $DESMOE_HTTP_ADDRESS or http://127.0.0.1:8000)",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("DESMOE_HTTP_ADDRESS") is { Length: > 0 } env ? env : "http://127.0.0.1:8000",
        };

        var command = new Command("load", "Drive a running server with concurrent streaming clients; print tokens/s, time to first token and inter-token latency percentiles.")
        {
            address, clients, duration, maxTokens, domains, prompts, stopAtEnd, temperature, topK, topP, warmUp, protocol, httpAddress,
        };
        command.SetAction((parse, cancellation) => CliErrors.RunAsync(async () =>
        {
            var levels = parse.GetValue(clients)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => int.TryParse(s, out var n) && n > 0 ? n : throw new ArgumentException($"--clients expects positive integers, got '{s}'")).ToList();
            var seconds = parse.GetValue(duration);
            if (seconds <= 0) throw new ArgumentException($"--duration must be positive, got {seconds}");
            var warmUpSeconds = parse.GetValue(warmUp);
            if (warmUpSeconds < 0) throw new ArgumentException($"--warm-up must be 0 or more seconds, got {warmUpSeconds}");
            var promptList = parse.GetValue(prompts) is { } file ? File.ReadAllLines(file).Where(l => l.Length > 0).ToList() : DefaultPrompts.ToList();
            if (promptList.Count == 0) throw new ArgumentException("the prompts file holds no prompt");
            var domainList = parse.GetValue(domains)!.Split(',', StringSplitOptions.TrimEntries).ToList();
            var sampling = new SamplingParams { Temperature = parse.GetValue(temperature), TopK = parse.GetValue(topK), TopP = parse.GetValue(topP) };
            if (sampling.Temperature == 0 && (sampling.TopK != 0 || sampling.TopP != 0))
                throw new ArgumentException("--top-k and --top-p apply to sampling; set --temperature above 0 as well");

            var protocols = parse.GetValue(protocol)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (protocols.Length == 0 || protocols.Any(p => p is not ("grpc" or "http")))
                throw new ArgumentException($"--protocol expects grpc, http or grpc,http, got '{parse.GetValue(protocol)}'");
            using var channel = ServerConnection.Open(parse.GetValue(address)!);
            var client = new Inference.InferenceClient(channel);
            var info = await client.GetModelInfoAsync(new GetModelInfoRequest(), cancellationToken: cancellation);
            Console.WriteLine($"server {parse.GetValue(address)}: model {info.ModelVersion} on {info.ExecutionProvider}; client machine {Environment.ProcessorCount} cores");
            Console.WriteLine($"{(parse.GetValue(stopAtEnd) ? "up to " : "")}{parse.GetValue(maxTokens)} new tokens per request, {seconds:G} s per level after {warmUpSeconds:G} s of warm-up, domains [{string.Join(", ", domainList.Select(d => d.Length == 0 ? "none" : d))}], {Describe(sampling)}");

            using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
            var load = new LoadRequest(promptList, domainList, parse.GetValue(maxTokens), !parse.GetValue(stopAtEnd), sampling.Temperature > 0 ? sampling : null);
            var generators = new List<LoadGenerator>();
            foreach (var p in protocols)
            {
                if (p == "grpc")
                {
                    generators.Add(new LoadGenerator(client, load));
                    continue;
                }
                var httpBase = parse.GetValue(httpAddress)!;
                var model = await HttpStreamTarget.ServedModelAsync(http, httpBase, cancellation);
                Console.WriteLine($"HTTP API {httpBase}: model {model}");
                generators.Add(new LoadGenerator(new HttpStreamTarget(http, httpBase, model), load));
            }
            if (warmUpSeconds > 0)
                foreach (var level in levels)
                foreach (var generator in generators)
                    await generator.RunAsync(level, TimeSpan.FromSeconds(warmUpSeconds / levels.Count / generators.Count), cancellation);

            Console.WriteLine($"{"protocol",8} {"clients",7} {"requests",8} {"failed",6} {"tokens/s",9} {"req/s",7} | {"TTFT p50",8} {"p95",7} {"p99",7} | {"ITL p50",8} {"p95",7} {"p99",7}  (ms)");
            var results = new List<(string Protocol, LoadResult Result)>();
            foreach (var level in levels)
            foreach (var generator in generators)
            {
                var r = await generator.RunAsync(level, TimeSpan.FromSeconds(seconds), cancellation);
                results.Add((generator.Protocol, r));
                Console.WriteLine($"{generator.Protocol,8} {r.Clients,7} {r.CompletedRequests,8} {r.FailedRequests,6} {r.TokensPerSecond,9:F0} {r.RequestsPerSecond,7:F1} | " +
                                  $"{r.TimeToFirstToken.P50,8:F1} {r.TimeToFirstToken.P95,7:F1} {r.TimeToFirstToken.P99,7:F1} | " +
                                  $"{r.InterToken.P50,8:F2} {r.InterToken.P95,7:F2} {r.InterToken.P99,7:F2}");
                foreach (var (status, count) in r.Failures) Console.WriteLine($"        {count} failed with {status}");
            }
            foreach (var p in protocols)
            {
                var runs = results.Where(r => r.Protocol == p).Select(r => r.Result).ToList();
                var single = runs.FirstOrDefault(r => r.Clients == 1);
                if (single is not null)
                    foreach (var r in runs.Where(r => r.Clients > 1))
                        Console.WriteLine($"{p} throughput at {r.Clients} clients: {r.TokensPerSecond / single.TokensPerSecond:F1}x the single-client throughput");
            }
            if (protocols.Contains("grpc") && protocols.Contains("http"))
                foreach (var level in levels)
                {
                    var grpcRun = results.First(r => r.Protocol == "grpc" && r.Result.Clients == level).Result;
                    var httpRun = results.First(r => r.Protocol == "http" && r.Result.Clients == level).Result;
                    Console.WriteLine($"http / grpc at {level} clients: {httpRun.TokensPerSecond / grpcRun.TokensPerSecond:F2}x tokens/s");
                }
            return results.Sum(r => r.Result.FailedRequests) == 0 ? 0 : CliErrors.Failure;
        }));
        return command;
    }

    private static string Describe(SamplingParams sampling) => sampling.Temperature == 0
        ? "greedy"
        : $"sampled at temperature {sampling.Temperature:G}{(sampling.TopK > 0 ? $", top-k {sampling.TopK}" : "")}{(sampling.TopP is > 0 and < 1 ? $", top-p {sampling.TopP:G}" : "")}";
}
