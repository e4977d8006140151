using DesMoe.Onnx.Generation;
using DesMoe.Formats.Experts;
using DesMoe.Torch.Model;
using DesMoe.Onnx;
using static TorchSharp.torch;

namespace DesMoe.Exporter.Export;

/// <summary>Largest |ONNX - TorchSharp| logit difference for one domain id over a prefill and a few decode steps, and the largest |TorchSharp logit| there.</summary>
public sealed record DomainParity(int DomainId, string Domain, double MaxAbsError, double MaxAbsLogit);

/// <summary>One domain id's reference: TorchSharp's logits at every step of a prompt and its greedy continuation.</summary>
/// <param name="Steps">the tokens fed at each step (the prompt, then one token a step)</param>
/// <param name="Logits">each step's logits, [tokens of the step x vocab] flattened</param>
public sealed record ReferenceRun(int DomainId, IReadOnlyList<long[]> Steps, IReadOnlyList<float[]> Logits);

/// <summary>
/// Runs the same token sequences through the TorchSharp model and the exported graph (ONNX Runtime), prefill then
/// step-by-step decode with the KV cache, for every domain id and the no-domain path, and reports the worst logit gap;
/// the graph's top tokens must name its own logits' likeliest tokens at every step, or the check throws. The two
/// halves run one after the other (<see cref="References"/>, then <see cref="Compare"/>), so an exporter can let the
/// TorchSharp model go before ONNX Runtime loads the export: at real size the two do not fit in memory together.
/// </summary>
public static class ExportCheck
{
    public static IReadOnlyList<DomainParity> Run(MoeTransformer model, DomainRouting routing, OnnxDecoder decoder,
        IReadOnlyList<IReadOnlyList<int>> prompts, int decodeSteps) =>
        Compare(decoder, References(model, routing, decoder.Info.Domains.Count, prompts, decodeSteps));

    /// <summary>TorchSharp's side: for the no-domain path and each of <paramref name="domains"/> domain ids, each prompt and <paramref name="decodeSteps"/> greedy tokens.</summary>
    public static IReadOnlyList<ReferenceRun> References(MoeTransformer model, DomainRouting routing, int domains,
        IReadOnlyList<IReadOnlyList<int>> prompts, int decodeSteps) =>
        new[] { ExpertAssignment.NoDomain }.Concat(Enumerable.Range(0, domains))
            .SelectMany(d => prompts.Select(p => Reference(model, routing, p, d, decodeSteps))).ToList();

    /// <summary>ONNX Runtime's side: the same steps through the export, against the references.</summary>
    public static IReadOnlyList<DomainParity> Compare(OnnxDecoder decoder, IReadOnlyList<ReferenceRun> references) =>
        references.GroupBy(r => r.DomainId).Select(runs =>
        {
            var gaps = runs.Select(r => Compare(decoder, r)).ToList();
            return new DomainParity(runs.Key, runs.Key < 0 ? "(none)" : decoder.Info.Domains[runs.Key], gaps.Max(g => g.Error), gaps.Max(g => g.Logit));
        }).ToList();

    private static ReferenceRun Reference(MoeTransformer model, DomainRouting routing, IReadOnlyList<int> prompt, int domainId, int decodeSteps)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        using var cache = new KvCache(model.Config.NumLayers);
        var domains = tensor(new long[] { domainId });
        var steps = new List<long[]>();
        var logits = new List<float[]>();
        var tokens = prompt.Select(t => (long)t).ToArray();
        long position = 0;
        for (int step = 0; step <= decodeSteps; step++)
        {
            int seq = tokens.Length;
            var positions = Enumerable.Range(0, seq).Select(i => position + i).ToArray();
            var output = model.Forward(tensor(tokens, [1, seq]), null, tensor(positions, [1, seq]), cache, domainIds: domains, domainRouting: routing).Logits;
            steps.Add(tokens);
            logits.Add(output.flatten().data<float>().ToArray());
            position += seq;
            tokens = [output.select(1, -1).argmax(-1).item<long>()];
        }
        return new ReferenceRun(domainId, steps, logits);
    }

    private static (double Error, double Logit) Compare(OnnxDecoder decoder, ReferenceRun reference)
    {
        var cache = decoder.EmptyCache(1);
        double worst = 0, largest = 0;
        long position = 0;
        try
        {
            for (int step = 0; step < reference.Steps.Count; step++)
            {
                var tokens = reference.Steps[step];
                var expected = reference.Logits[step];
                int seq = tokens.Length;
                var positions = Enumerable.Range(0, seq).Select(i => position + i).ToArray();
                var mask = Enumerable.Repeat(1L, (int)(position + seq)).ToArray();
                cache = decoder.Advance(new OnnxStepInput(1, seq, tokens, mask, positions, [reference.DomainId]), cache, output =>
                {
                    var logits = output.Logits;
                    for (int i = 0; i < expected.Length; i++)
                    {
                        worst = Math.Max(worst, Math.Abs(expected[i] - logits[i]));
                        largest = Math.Max(largest, Math.Abs(expected[i]));
                    }
                    if (output.HasTopTokens)
                        CheckTopTokens(output.LastTopTokens(0), output.LastLogits(0), TokenSampler.ArgMax(output.LastLogits(0)), reference.DomainId);
                });
                position += seq;
            }
        }
        finally
        {
            cache.Dispose();
        }
        return (worst, largest);
    }

    /// <summary>The graph's top tokens must be its own logits' two likeliest, exactly: the server picks greedy tokens from them.</summary>
    private static void CheckTopTokens(ReadOnlySpan<long> top, ReadOnlySpan<float> logits, int best, int domainId)
    {
        int second = TokenSampler.ArgMax(logits, banned: best);
        if (top[0] != best || top[1] != second)
            throw new InvalidOperationException(
                $"the graph's top_tokens ({top[0]}, {top[1]}) are not its logits' two likeliest ({best}, {second}) for domain id {domainId}");
    }
}
