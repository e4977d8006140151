using System.Security.Cryptography;
using DesMoe.Formats.Experts;
using DesMoe.Formats.Tokenization;
using DesMoe.Torch.Evaluation;
using DesMoe.Torch.Model;
using static TorchSharp.torch;

namespace DesMoe.Trainer.Adaptation;

/// <summary>How one routing path's logits compared before and after a change: <see cref="Differing"/> of <see cref="Sequences"/> changed in any bit.</summary>
public sealed record PathComparison(string Name, int Sequences, long Logits, int Differing)
{
    public bool BitIdentical => Differing == 0;
}

/// <summary>
/// The exact logits each routing path computes on a set's prompts, kept as one SHA-256 per prompt (every position,
/// every vocabulary entry, their bits): at a hub model's 150k-entry vocabulary, the logits themselves of a few dozen
/// prompts would take hundreds of MB, and bit-identity needs only equality. A set named
/// <see cref="Formats.Data.DomainCatalog.GeneralName"/> runs on the no-domain path, any other on its domain's.
/// </summary>
public sealed record PathFingerprints(IReadOnlyDictionary<string, IReadOnlyList<string>> Hashes, IReadOnlyDictionary<string, long> LogitCounts)
{
    /// <param name="prompts">how many of each set's examples to run (their prompts only)</param>
    public static PathFingerprints Of(MoeTransformer model, ITextTokenizer tokenizer, ExpertAssignment assignment, IEnumerable<EvaluationSet> sets, int prompts)
    {
        using var routing = DomainRouting.For(assignment, model.Config.TopK, NoDomainRouting.AllExperts);
        var hashes = new Dictionary<string, IReadOnlyList<string>>();
        var counts = new Dictionary<string, long>();
        model.eval();
        using var noGrad = no_grad();
        foreach (var set in sets)
        {
            int domainId = set.Name == Formats.Data.DomainCatalog.GeneralName ? ExpertAssignment.NoDomain : assignment.Domains.ToList().IndexOf(set.Name);
            if (domainId == -1 && set.Name != Formats.Data.DomainCatalog.GeneralName)
                throw new KeyNotFoundException($"no domain '{set.Name}' in the assignment; its domains are [{string.Join(", ", assignment.Domains)}]");
            var list = new List<string>();
            long count = 0;
            foreach (var example in set.Examples.Take(prompts))
            {
                using var scope = NewDisposeScope();
                var ids = PromptFormat.EncodePrompt(tokenizer, example.Prompt).Select(t => (long)t).ToArray();
                var logits = model.Forward(tensor(ids, [1, ids.Length]), domainIds: tensor(new long[] { domainId }), domainRouting: routing)
                    .Logits.contiguous().data<float>().ToArray();
                list.Add(Convert.ToHexString(SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(logits.AsSpan()))));
                count += logits.Length;
            }
            hashes[set.Name] = list;
            counts[set.Name] = count;
        }
        return new PathFingerprints(hashes, counts);
    }

    /// <summary>Per set of this (the before), how many prompts' logits differ in <paramref name="after"/>.</summary>
    public IReadOnlyList<PathComparison> CompareWith(PathFingerprints after) =>
        Hashes.Select(kv =>
        {
            var other = after.Hashes.TryGetValue(kv.Key, out var h) ? h
                : throw new KeyNotFoundException($"set '{kv.Key}' was not run after the change; it ran [{string.Join(", ", after.Hashes.Keys)}]");
            if (other.Count != kv.Value.Count) throw new ArgumentException($"set '{kv.Key}' ran {kv.Value.Count} prompts before and {other.Count} after");
            return new PathComparison(kv.Key, kv.Value.Count, LogitCounts[kv.Key], kv.Value.Zip(other).Count(p => p.First != p.Second));
        }).ToList();
}
