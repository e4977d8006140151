using DesMoe.Onnx.Generation;
using DesMoe.Formats.Experts;
using DesMoe.Torch.Model;
using DesMoe.Onnx;
using static TorchSharp.torch;

namespace DesMoe.Exporter.Export;

/// <summary>Largest |ONNX - TorchSharp| logit difference for one domain id over a prefill and a few decode steps, and the largest |TorchSharp logit| there.</summary>
public sealed record DomainParity(int DomainId, string Domain, double MaxAbsError, double MaxAbsLogit);

/// <summary>
/// Runs the same token sequences through the exported graph (ONNX Runtime) and the TorchSharp model, prefill then
/// step-by-step decode with the KV cache, for every domain id and the no-domain path, and reports the worst logit gap;
/// the graph's top tokens must name its own logits' likeliest tokens at every step, or the check throws.
/// </summary>
public static class ExportCheck
{
    public static IReadOnlyList<DomainParity> Run(MoeTransformer model, DomainRouting routing, OnnxDecoder decoder,
        IReadOnlyList<IReadOnlyList<int>> prompts, int decodeSteps)
    {
        var domainIds = new[] { ExpertAssignment.NoDomain }.Concat(Enumerable.Range(0, decoder.Info.Domains.Count));
        return domainIds.Select(d =>
        {
            var gaps = prompts.Select(p => Compare(model, routing, decoder, p, d, decodeSteps)).ToList();
            return new DomainParity(d, d < 0 ? "(none)" : decoder.Info.Domains[d], gaps.Max(g => g.Error), gaps.Max(g => g.Logit));
        }).ToList();
    }

    private static (double Error, double Logit) Compare(MoeTransformer model, DomainRouting routing, OnnxDecoder decoder, IReadOnlyList<int> prompt, int domainId, int decodeSteps)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        using var torchCache = new KvCache(model.Config.NumLayers);
        var domains = tensor(new long[] { domainId });
        var onnxCache = decoder.EmptyCache(1);
        double worst = 0, largest = 0;
        var tokens = prompt.Select(t => (long)t).ToArray();
        long position = 0;
        try
        {
            for (int step = 0; step <= decodeSteps; step++)
            {
                int seq = tokens.Length;
                var positions = Enumerable.Range(0, seq).Select(i => position + i).ToArray();
                var reference = model.Forward(tensor(tokens, [1, seq]), null, tensor(positions, [1, seq]), torchCache,
                    domainIds: domains, domainRouting: routing).Logits.flatten().data<float>().ToArray();

                var mask = Enumerable.Repeat(1L, (int)(position + seq)).ToArray();
                int next = 0;
                onnxCache = decoder.Advance(new OnnxStepInput(1, seq, tokens, mask, positions, [domainId]), onnxCache, output =>
                {
                    var logits = output.Logits;
                    for (int i = 0; i < reference.Length; i++)
                    {
                        worst = Math.Max(worst, Math.Abs(reference[i] - logits[i]));
                        largest = Math.Max(largest, Math.Abs(reference[i]));
                    }
                    next = TokenSampler.ArgMax(output.LastLogits(0));
                    if (output.HasTopTokens) CheckTopTokens(output.LastTopTokens(0), output.LastLogits(0), next, domainId);
                });

                position += seq;
                tokens = [next];
            }
        }
        finally
        {
            onnxCache.Dispose();
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
