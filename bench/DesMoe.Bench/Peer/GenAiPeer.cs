using System.Diagnostics;
using System.Text.Json;
using DesMoe.Exporter.Export;
using Microsoft.ML.OnnxRuntimeGenAI;

namespace DesMoe.Bench.Peer;

/// <summary>
/// What one decode produced: per row the new tokens, and the client-side times: to the first new token (prefill plus
/// its pick) and between consecutive tokens, in milliseconds. A batch has one time line shared by its rows.
/// </summary>
public sealed record PeerDecode(IReadOnlyList<IReadOnlyList<int>> Tokens, double TimeToFirstTokenMs, IReadOnlyList<double> InterTokenMs, TimeSpan Wall);

/// <summary>
/// ONNX Runtime GenAI (in-process, its C# API) over an exported folder that has <c>genai_config.json</c>: greedy
/// decoding of token-id prompts, with no GenAI tokenizer (the export's tokenizer is ours, not a Hugging Face one).
/// Every decode yields exactly the requested number of new tokens: <c>min_length = max_length</c> keeps GenAI from
/// choosing the end token, as the server's <c>ignore_end_of_text</c> does, so both produce the same token counts.
/// </summary>
public sealed class GenAiPeer : IDisposable
{
    private readonly Model _model;

    public GenAiPeer(string exportFolder)
    {
        var configPath = Path.Combine(exportFolder, GenAiConfig.FileName);
        if (!File.Exists(configPath))
            throw new FileNotFoundException($"{exportFolder} has no {GenAiConfig.FileName}; export the model again (the exporter writes it where ONNX Runtime GenAI can run the graph, and logs why where it cannot)", configPath);
        using (var config = JsonDocument.Parse(File.ReadAllText(configPath)))
            PadTokenId = config.RootElement.GetProperty("model").GetProperty("pad_token_id").GetInt32();
        _model = new Model(exportFolder);
    }

    /// <summary>The id GenAI takes for padding; <see cref="GenerateBatch"/> right-pads with it.</summary>
    public int PadTokenId { get; }

    /// <summary>One stream: <paramref name="prompt"/> (the whole prompt, begin and separator tokens included) then <paramref name="newTokens"/> greedy tokens.</summary>
    public PeerDecode Generate(IReadOnlyList<int> prompt, int newTokens) => GenerateBatch([prompt], newTokens);

    /// <summary>
    /// One static batch. GenAI 0.18 takes a batch as one [batch, longest] block and masks only trailing pad tokens
    /// (it walks each row from the end: left padding would be attended to as real tokens), so rows are right-padded;
    /// it then reads each row's logits at its last real token and continues from there.
    /// </summary>
    public PeerDecode GenerateBatch(IReadOnlyList<IReadOnlyList<int>> prompts, int newTokens)
    {
        if (prompts.Count == 0) throw new ArgumentException("no prompts to decode");
        if (newTokens <= 0) throw new ArgumentException($"new tokens must be positive, got {newTokens}");
        int width = prompts.Max(p => p.Count);
        if (prompts.FirstOrDefault(p => p.Count == 0 || p[^1] == PadTokenId) is { } bad)
            throw new ArgumentException($"a prompt of {bad.Count} tokens is empty or ends with the pad token {PadTokenId}, which GenAI would take for padding");
        var block = new int[prompts.Count * width];
        Array.Fill(block, PadTokenId);
        for (int row = 0; row < prompts.Count; row++)
            for (int i = 0; i < prompts[row].Count; i++) block[row * width + i] = prompts[row][i];

        using var parameters = new GeneratorParams(_model);
        parameters.SetSearchOption("batch_size", prompts.Count);
        parameters.SetSearchOption("max_length", width + newTokens);
        parameters.SetSearchOption("min_length", width + newTokens);
        parameters.SetSearchOption("do_sample", false);
        parameters.SetSearchOption("num_beams", 1);
        // Greedy never draws, but without a seed GenAI seeds its generator from std::random_device, which on a
        // machine whose RDSEED keeps failing (this dev box's VM: libstdc++ retries it 99 times per word before
        // falling back) cost 12 ms per Generator, more than a whole 64-token decode; a fixed seed skips that.
        parameters.SetSearchOption("random_seed", 1);

        var tokens = prompts.Select(_ => new List<int>(newTokens)).ToList();
        var gaps = new List<double>(newTokens);
        double firstMs = 0;
        var clock = Stopwatch.StartNew();
        using var generator = new Generator(_model, parameters);
        generator.AppendTokens(block); // the prefill runs here
        long last = 0;
        while (!generator.IsDone())
        {
            generator.GenerateNextToken();
            var next = generator.GetNextTokens();
            for (int row = 0; row < prompts.Count; row++) tokens[row].Add(next[row]);
            long now = Stopwatch.GetTimestamp();
            if (last == 0) firstMs = clock.Elapsed.TotalMilliseconds;
            else gaps.Add(Stopwatch.GetElapsedTime(last, now).TotalMilliseconds);
            last = now;
        }
        clock.Stop();
        if (tokens[0].Count != newTokens)
            throw new InvalidOperationException($"ONNX Runtime GenAI stopped after {tokens[0].Count} of {newTokens} new tokens");
        return new PeerDecode(tokens, firstMs, gaps, clock.Elapsed);
    }

    public void Dispose() => _model.Dispose();
}
