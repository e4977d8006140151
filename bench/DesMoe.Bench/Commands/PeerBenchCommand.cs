using DesMoe.Cli.Commands;
using System.CommandLine;
using DesMoe.Bench.Peer;
using DesMoe.Cli.Remote;
using DesMoe.Formats.Config;
using DesMoe.Formats.Data;
using DesMoe.Formats.Tokenization;
using DesMoe.Exporter.Export;
using DesMoe.Exporter.Graph;
using DesMoe.Protos.V1;

namespace DesMoe.Bench.Commands;

/// <summary>
/// <c>desmoe-bench peer</c>: the same prompts, each decoding the same number of greedy tokens, through ONNX Runtime
/// GenAI (in-process) and through our server (in-process on a loopback port, or a running one), on the same exported
/// folder; prints tokens/s, TTFT and ITL for each, the ratios the serving goals are set on, and whether the greedy
/// outputs are equal.
/// </summary>
internal static class PeerBenchCommand
{
    /// <summary>Ours at one stream vs GenAI at one stream, and ours at the most streams vs GenAI at one stream.</summary>
    private const double SingleStreamGoal = 1.0, ConcurrentGoal = 4.0;
    private const int ConcurrentGoalStreams = 32;

    public static Command Create()
    {
        var model = ModelOption.StringSkills();
        var export = new Option<string?>("--export") { Description = "an exported folder with genai_config.json (default: export --model into a temporary folder)" };
        var address = new Option<string?>("--address") { Description = "bench a running server that serves the same export (default: start one in-process on a loopback port)" };
        var promptCount = new Option<int>("--prompts") { Description = "general-set held-out prompts every engine decodes", DefaultValueFactory = _ => 32 };
        var promptFile = new Option<string?>("--prompts-file") { Description = "a text file with one prompt per line instead" };
        var newTokens = new Option<int>("--new-tokens") { Description = "greedy tokens every prompt decodes (the end token is never chosen)", DefaultValueFactory = _ => 64 };
        var clients = new Option<string>("--clients") { Description = "comma-separated numbers of concurrent streams to our server", DefaultValueFactory = _ => "1,8,32" };
        var genAiBatch = new Option<int>("--genai-batch") { Description = "prompts per GenAI static batch", DefaultValueFactory = _ => 32 };
        var spinning = new Option<bool>("--ort-spinning") { Description = "let the in-process server's ONNX Runtime threads spin (GenAI's default; the server's is off)" };
        var serverThreads = new Option<int>("--server-threads") { Description = "intra-op threads of the in-process server's ONNX Runtime session (DesMoe:Threads; 0 = the server's default: one for a small model, one per core for a larger one)" };
        var rounds = new Option<int>("--rounds")
        {
            Description = "timed rounds, each running every engine and level once in turn; the goals are judged on the median of the rounds' ratios " +
                          "(a shared machine's speed drifts over minutes, which one GenAI pass followed by ours would read as a difference between them)",
            DefaultValueFactory = _ => 5,
        };

        var command = new Command("peer", "Decode the same prompts through ONNX Runtime GenAI, through our server and (in-process) through its engine without gRPC; print tokens/s, TTFT, ITL, the goal ratios and greedy agreement.")
        {
            model, export, address, promptCount, promptFile, newTokens, clients, genAiBatch, spinning, serverThreads, rounds,
        };
        command.SetAction((parse, cancellation) => CliErrors.RunAsync(async () =>
        {
            var levels = parse.GetValue(clients)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => int.TryParse(s, out var n) && n > 0 ? n : throw new ArgumentException($"--clients expects positive integers, got '{s}'")).ToList();
            if (levels.Count == 0) throw new ArgumentException("--clients names no level");
            int tokens = parse.GetValue(newTokens), batch = parse.GetValue(genAiBatch);
            if (tokens <= 0) throw new ArgumentException($"--new-tokens must be positive, got {tokens}");
            if (batch <= 0) throw new ArgumentException($"--genai-batch must be positive, got {batch}");
            int threads = parse.GetValue(serverThreads);
            if (threads < 0) throw new ArgumentException($"--server-threads must be 0 (the server's default) or positive, got {threads}");
            int roundCount = parse.GetValue(rounds);
            if (roundCount <= 0) throw new ArgumentException($"--rounds must be positive, got {roundCount}");

            string? temporary = null;
            var folder = parse.GetValue(export);
            if (folder is null)
            {
                temporary = Path.Combine(Path.GetTempPath(), $"desmoe-peer-export-{Guid.NewGuid():N}");
                var exported = ModelExporter.Export(parse.GetValue(model)!, temporary, new ExportOptions());
                folder = exported.OutputFolder;
                Console.WriteLine($"exported {parse.GetValue(model)} to {folder} in {exported.Elapsed.TotalSeconds:F1} s ({exported.Manifest.ExpertKernel}, {exported.Manifest.WeightPrecision})");
            }
            try
            {
                return await RunAsync(folder, parse.GetValue(address), Prompts(parse.GetValue(promptFile), parse.GetValue(promptCount)), tokens, levels, batch,
                    parse.GetValue(spinning), threads, roundCount, cancellation);
            }
            finally
            {
                if (temporary is not null && Directory.Exists(temporary)) Directory.Delete(temporary, recursive: true);
            }
        }));
        return command;
    }

    private static IReadOnlyList<string> Prompts(string? file, int count)
    {
        if (file is not null)
        {
            var lines = File.ReadAllLines(file).Where(l => l.Length > 0).ToList();
            return lines.Count > 0 ? lines : throw new ArgumentException($"the prompts file {file} holds no prompt");
        }
        if (count <= 0) throw new ArgumentException($"--prompts must be positive, got {count}");
        return GeneralSet.HeldOut(count).Select(e => e.Prompt).ToList();
    }

    private static async Task<int> RunAsync(string folder, string? address, IReadOnlyList<string> texts, int newTokens, IReadOnlyList<int> levels,
        int genAiBatch, bool ortSpinning, int serverThreads, int rounds, CancellationToken cancellation)
    {
        var config = MoeConfig.Load(Path.Combine(folder, MoeConfig.FileName));
        var tokenizer = TokenizerFile.LoadFromExport(folder);
        // GenAI gets the whole prompt; the server gets the prompt's own tokens and adds begin and separator itself.
        var full = texts.Select(t => (IReadOnlyList<int>)PromptFormat.EncodePrompt(tokenizer, t)).ToList();
        var bare = texts.Select(t => tokenizer.Encode(t)).ToList();
        for (int i = 0; i < full.Count; i++)
            if (full[i].Count + newTokens > config.MaxPositions)
                throw new ArgumentException($"prompt {i} ('{texts[i]}') has {full[i].Count} tokens; with --new-tokens {newTokens} it exceeds the context of {config.MaxPositions}");

        Console.WriteLine($"export {folder}: {config.NumLayers} layers, {config.NumRoutedExperts} experts (top-{config.TopK}), context {config.MaxPositions}");
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores; {texts.Count} prompts ({full.Min(p => p.Count)}-{full.Max(p => p.Count)} tokens) x {newTokens} greedy new tokens each, on the no-domain path");

        using var peer = new GenAiPeer(folder);
        // Warm-up, untimed, on both sides, so the timed passes see steady state: GenAI (native code) decodes the
        // workload once, for ONNX Runtime's first-run allocations; ours also waits for the JIT (WarmUpAsync).
        GenAiRuns.SingleStream(peer, full, newTokens);
        GenAiRuns.Batched(peer, full, newTokens, genAiBatch);

        var results = new List<IReadOnlyList<PeerRun>>();
        InProcessServer? server = address is null ? await InProcessServer.StartAsync(folder, Math.Max(levels.Max(), 1), ortSpinning, serverThreads) : null;
        try
        {
            using var channel = server is null ? ServerConnection.Open(address!) : null;
            var client = new Inference.InferenceClient(server?.Channel ?? channel!);
            var info = await client.GetModelInfoAsync(new GetModelInfoRequest(), cancellationToken: cancellation);
            if (MoeConfig.FromJson(info.ConfigJson, "the server's model") != config)
                throw new ArgumentException($"the server at {address} serves another model ({info.ModelPath}) than {folder}");
            Console.WriteLine($"our server {(server is null ? address : $"in-process at {server.Address}")}: {info.ExecutionProvider}, spinning {(server is null ? "as configured" : ortSpinning ? "on" : "off")}, intra-op threads {(server is null ? "as configured" : serverThreads == 0 ? DefaultThreads(config) : serverThreads)}");
            int passes = await WarmUpAsync(client, bare, newTokens, levels, inProcess: server is not null, cancellation);
            Console.WriteLine($"warm-up: {passes} untimed passes over the levels ({System.Runtime.JitInfo.GetCompiledMethodCount():N0} methods JIT-compiled in this process)");
            using var lease = server?.AcquireModel();
            if (lease is not null) await EngineStreams.SingleStreamAsync(lease.Engine, full, newTokens, cancellation); // untimed: its own path's JIT
            for (int round = 0; round < rounds; round++)
            {
                // Every engine once per round, one after the other, so each round's ratios compare the same minute of the machine.
                var runs = new List<PeerRun> { GenAiRuns.SingleStream(peer, full, newTokens), GenAiRuns.Batched(peer, full, newTokens, genAiBatch) };
                if (lease is not null) runs.Add(await EngineStreams.SingleStreamAsync(lease.Engine, full, newTokens, cancellation));
                foreach (var level in levels) runs.Add(await ServerStreams.RunAsync(client, bare, newTokens, level, cancellation));
                results.Add(runs);
            }
        }
        finally
        {
            if (server is not null) await server.DisposeAsync();
        }
        bool allMatch = true;
        for (int round = 0; round < rounds; round++)
        {
            if (rounds > 1) Console.WriteLine($"round {round + 1} of {rounds}:");
            allMatch &= Report(results[round], results[0][0], texts.Count, judge: rounds == 1);
        }
        if (rounds > 1) Summarize(results);
        Console.WriteLine(allMatch
            ? $"greedy outputs: equal on all {texts.Count} prompts for every engine and level{(rounds > 1 ? " in every round" : "")}"
            : "greedy outputs: DIFFER (see the last column)");
        return allMatch ? 0 : CliErrors.Failure;
    }

    /// <summary>
    /// Decodes the workload at every level, untimed, until the .NET JIT has settled: tiered compilation keeps
    /// re-compiling the server's and client's hot paths for several seconds of load (measured on 2 cores: 500 more
    /// methods and 0.7 s of compile time in the pass after one warm-up pass, on a core the decode needs). A pass that
    /// compiles fewer than <see cref="SettledMethods"/> new methods ends it; a server in another process
    /// (<paramref name="inProcess"/> false) cannot be observed, so it gets <see cref="MinPasses"/>.
    /// </summary>
    private static async Task<int> WarmUpAsync(Inference.InferenceClient client, IReadOnlyList<IReadOnlyList<int>> prompts, int newTokens,
        IReadOnlyList<int> levels, bool inProcess, CancellationToken cancellation)
    {
        int passes = 0;
        while (true)
        {
            long before = System.Runtime.JitInfo.GetCompiledMethodCount();
            foreach (var level in levels) await ServerStreams.RunAsync(client, prompts, newTokens, level, cancellation);
            passes++;
            bool settled = inProcess ? System.Runtime.JitInfo.GetCompiledMethodCount() - before < SettledMethods : passes >= MinPasses;
            if (settled || passes >= MaxPasses) return passes;
        }
    }

    private const int SettledMethods = 50, MinPasses = 2, MaxPasses = 6;

    private static string DefaultThreads(MoeConfig config) =>
        new DesMoe.Server.Options.ServerOptions().InferenceThreads(config) is var threads and > 0 ? $"{threads} (the server's default for this model size)" : "one per core (the server's default for this model size)";

    /// <summary>The ratios of one round (GenAI's single stream is <c>runs[0]</c>); greedy tokens are compared with <paramref name="greedyReference"/>.</summary>
    /// <param name="judge">say met or missed for each goal here (one round); over several, <see cref="Summarize"/> judges the medians</param>
    /// <returns>whether every run decoded the reference's tokens</returns>
    private static bool Report(IReadOnlyList<PeerRun> runs, PeerRun greedyReference, int prompts, bool judge)
    {
        var reference = runs[0];
        // ITL is taken where a client sees tokens: gRPC may deliver two chunks in one read, so its p50 can sit near 0 while the mean is the decode rate.
        Console.WriteLine($"{"engine",-36} {"streams",7} {"tokens/s",9} | {"TTFT p50",8} {"p95",7} | {"ITL mean",8} {"p50",7} {"p95",7}  (ms) | greedy = GenAI 1 stream");
        bool allMatch = true;
        foreach (var r in runs)
        {
            var (matched, first) = r.CompareTo(greedyReference);
            allMatch &= matched == prompts;
            var agreement = ReferenceEquals(r, greedyReference) ? "(reference)" : $"{matched}/{prompts} prompts" +
                (first is { } f ? $" (first difference: prompt {f.Prompt}, token {f.Position})" : "");
            Console.WriteLine($"{r.Engine,-36} {r.Streams,7} {r.TokensPerSecond,9:F0} | {r.TimeToFirstToken.P50,8:F1} {r.TimeToFirstToken.P95,7:F1} | " +
                              $"{r.InterTokenMeanMs,8:F2} {r.InterToken.P50,7:F2} {r.InterToken.P95,7:F2}       | {agreement}");
        }
        foreach (var ratio in Ratios(runs))
            Console.WriteLine($"{ratio.Name}: {ratio.Value:F2}x" + (ratio.Goal is { } goal ? judge ? $" (goal >= {goal:0.0#}x: {(ratio.Value >= goal ? "met" : "MISSED")})" : $" (goal >= {goal:0.0#}x)" : " (no goal)")
                              + (ratio.Note is { } note ? $"; {note}" : ""));
        return allMatch;
    }

    /// <summary>Each round's ratios side by side, and the goals judged on their medians.</summary>
    private static void Summarize(IReadOnlyList<IReadOnlyList<PeerRun>> rounds)
    {
        Console.WriteLine($"over {rounds.Count} rounds (median, range):");
        var perRound = rounds.Select(Ratios).ToList();
        foreach (var name in perRound[0].Select(r => r.Name))
        {
            var values = perRound.Select(rs => rs.First(r => r.Name == name)).ToList();
            var sorted = values.Select(v => v.Value).Order().ToList();
            double median = sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
            var goal = values[0].Goal;
            Console.WriteLine($"  {name}: {median:F2}x ({sorted[0]:F2}-{sorted[^1]:F2})" +
                              (goal is { } g ? $" (goal >= {g:0.0#}x: {(median >= g ? "met" : "MISSED")}, met in {sorted.Count(v => v >= g)} of {sorted.Count} rounds)" : " (no goal)"));
        }
    }

    /// <param name="Note">what else the ratio's runs say (the engine alone: what serving it over gRPC costs)</param>
    private sealed record Ratio(string Name, double Value, double? Goal, string? Note = null);

    private static IReadOnlyList<Ratio> Ratios(IReadOnlyList<PeerRun> runs)
    {
        var (reference, genAiBatch) = (runs[0], runs[1]);
        var ours = runs.Where(r => r.Engine.StartsWith("ours", StringComparison.Ordinal)).ToList();
        var ratios = new List<Ratio>();
        if (ours.FirstOrDefault(r => r.Streams == 1) is { } single)
            ratios.Add(new("ours 1 stream / GenAI 1 stream", single.TokensPerSecond / reference.TokensPerSecond, SingleStreamGoal));
        if (ours.FirstOrDefault(r => r.Streams == ConcurrentGoalStreams) is { } concurrent)
            ratios.Add(new($"ours {ConcurrentGoalStreams} streams / GenAI 1 stream", concurrent.TokensPerSecond / reference.TokensPerSecond, ConcurrentGoal));
        if (runs.FirstOrDefault(r => r.Engine == EngineStreams.Name) is { } alone)
            ratios.Add(new("our engine alone / GenAI 1 stream", alone.TokensPerSecond / reference.TokensPerSecond, null,
                ours.FirstOrDefault(r => r.Streams == 1) is { } overGrpc
                    ? $"serving it over gRPC keeps {100 * overGrpc.TokensPerSecond / alone.TokensPerSecond:F0}% of its single-stream tokens/s (TTFT p50 {alone.TimeToFirstToken.P50:F1} -> {overGrpc.TimeToFirstToken.P50:F1} ms)"
                    : null));
        if (ours.FirstOrDefault(r => r.Streams == genAiBatch.Streams) is { } sameWidth)
            ratios.Add(new($"ours {sameWidth.Streams} streams / GenAI static batch of {genAiBatch.Streams}", sameWidth.TokensPerSecond / genAiBatch.TokensPerSecond, null));
        return ratios;
    }
}
