using System.CommandLine;
using System.Text.Json;
using DesMoe.Cli.Remote;
using DesMoe.Protos.V1;
using Grpc.Core;
using Grpc.Health.V1;

namespace DesMoe.Cli.Commands;

/// <summary>Commands that talk to a running server: generate, domains, model info, health.</summary>
internal static class ServerCommands
{
    public static IEnumerable<Command> Create() => [Generate(), Domains(), ModelInfo(), Health()];

    private static Command Generate()
    {
        var address = ServerConnection.AddressOption();
        var prompt = new Argument<string>("prompt") { Description = "the prompt text" };
        var domain = new Option<string>("--domain") { Description = "domain name; empty or \"auto\" lets the server infer it, \"none\" asks for the plain router", DefaultValueFactory = _ => "" };
        var maxTokens = new Option<uint>("--max-new-tokens") { Description = "0 = the server's default" };
        var temperature = new Option<float>("--temperature") { Description = "0 = greedy" };
        var topK = new Option<uint>("--top-k") { Description = "0 = off" };
        var topP = new Option<float>("--top-p") { Description = "0 or 1 = off" };
        var seed = new Option<ulong?>("--seed") { Description = "makes sampling reproducible" };
        var stop = new Option<string[]>("--stop") { Description = "stop sequence (repeatable)" };
        var json = new Option<bool>("--json") { Description = "print one JSON object per chunk instead of text" };
        var command = new Command("generate", "Stream a completion from the server, token by token.") { address, prompt, domain, maxTokens, temperature, topK, topP, seed, stop, json };
        command.SetAction((parse, cancellation) => CliErrors.RunAsync(async () =>
        {
            using var channel = ServerConnection.Open(parse.GetValue(address)!);
            var request = new GenerateRequest
            {
                Text = parse.GetValue(prompt)!, Domain = parse.GetValue(domain)!, MaxNewTokens = parse.GetValue(maxTokens),
                Sampling = new SamplingParams { Temperature = parse.GetValue(temperature), TopK = parse.GetValue(topK), TopP = parse.GetValue(topP) },
            };
            if (parse.GetValue(seed) is { } s) request.Sampling.Seed = s;
            request.Stop.AddRange(parse.GetValue(stop) ?? []);
            using var call = new Inference.InferenceClient(channel).GenerateStream(request, cancellationToken: cancellation);
            bool first = true;
            await foreach (var chunk in call.ResponseStream.ReadAllAsync(cancellation))
            {
                if (first && chunk.DomainInferred && !parse.GetValue(json))
                    Console.Error.WriteLine(chunk.Domain.Length > 0
                        ? $"[domain {chunk.Domain}, inferred, confidence {chunk.DomainConfidence:P0}]"
                        : $"[plain router: likeliest {chunk.DomainCandidate}, confidence {chunk.DomainConfidence:P0}]");
                first = false;
                if (parse.GetValue(json)) Console.WriteLine(Google.Protobuf.JsonFormatter.Default.Format(chunk));
                else Console.Write(chunk.Text);
                if (chunk.Usage is { } usage && !parse.GetValue(json))
                {
                    Console.WriteLine();
                    Console.Error.WriteLine($"[{chunk.FinishReason}, {usage.PromptTokens} prompt + {usage.CompletionTokens} completion tokens]");
                }
            }
            return 0;
        }));
        return command;
    }

    private static Command Domains()
    {
        var address = ServerConnection.AddressOption();
        var command = new Command("domains", "List the domains the served model answers.") { address };
        command.SetAction((parse, cancellation) => CliErrors.RunAsync(async () =>
        {
            using var channel = ServerConnection.Open(parse.GetValue(address)!);
            var response = await new Inference.InferenceClient(channel).ListDomainsAsync(new ListDomainsRequest(), cancellationToken: cancellation);
            if (response.Domains.Count == 0) Console.WriteLine("(no domains: the plain router serves every request)");
            foreach (var d in response.Domains) Console.WriteLine($"{d.Id,3}  {d.Name,-16} {d.Parameters,12:N0} parameters  {d.Bytes / 1e6,9:F2} MB");
            return 0;
        }));
        return command;
    }

    private static Command ModelInfo()
    {
        var address = ServerConnection.AddressOption();
        var info = new Command("info", "What the server serves: version, execution provider, limits, config.") { address };
        info.SetAction((parse, cancellation) => CliErrors.RunAsync(async () =>
        {
            using var channel = ServerConnection.Open(parse.GetValue(address)!);
            var m = await new Inference.InferenceClient(channel).GetModelInfoAsync(new GetModelInfoRequest(), cancellationToken: cancellation);
            Console.WriteLine($"version            {m.ModelVersion}\nexecution provider {m.ExecutionProvider}\nmodel              {m.ModelPath}\n" +
                              $"parameters         {m.Parameters:N0}\ncontext            {m.MaxContextTokens} tokens\nmax new tokens     {m.MaxNewTokensLimit}\n" +
                              $"tokenizer          {m.Tokenizer}\nconfig             {JsonSerializer.Serialize(JsonDocument.Parse(m.ConfigJson))}");
            foreach (var d in m.Domains) Console.WriteLine($"domain {d.Id,3}         {d.Name} ({d.Parameters:N0} parameters, {d.Bytes / 1e6:F2} MB)");
            return 0;
        }));
        return new Command("model", "The served model, or a hub checkpoint on disk.") { info, ModelInspectCommand.Create(), ModelProbesCommand.Create() };
    }

    private static Command Health()
    {
        var address = ServerConnection.AddressOption();
        var command = new Command("health", "gRPC health check; exit code 0 when serving.") { address };
        command.SetAction((parse, cancellation) => CliErrors.RunAsync(async () =>
        {
            using var channel = ServerConnection.Open(parse.GetValue(address)!);
            var response = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), cancellationToken: cancellation);
            Console.WriteLine(response.Status.ToString().ToLowerInvariant());
            return response.Status == HealthCheckResponse.Types.ServingStatus.Serving ? 0 : CliErrors.Failure;
        }));
        return command;
    }
}
