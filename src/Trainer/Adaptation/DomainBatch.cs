using DesMoe.Formats.Data;
using DesMoe.Formats.Tokenization;
using DesMoe.Torch.Training;
using static TorchSharp.torch;

namespace DesMoe.Trainer.Adaptation;

/// <summary>A training batch whose rows come from different domains, with each token's domain id.</summary>
public sealed class DomainBatch : IDisposable
{
    private DomainBatch(SequenceBatch batch, int[] rowDomains, Tensor sequenceDomains, Tensor tokenDomains)
    {
        Batch = batch;
        RowDomains = rowDomains;
        SequenceDomains = sequenceDomains;
        TokenDomains = tokenDomains;
    }

    public SequenceBatch Batch { get; }
    public int[] RowDomains { get; }
    /// <summary>[batch] domain id of every row, for domain-routed forward passes.</summary>
    public Tensor SequenceDomains { get; }
    /// <summary>[batch*seq] domain id of every (flattened) token.</summary>
    public Tensor TokenDomains { get; }

    /// <summary>Samples <paramref name="size"/> rows, each from a uniformly chosen domain among <paramref name="domains"/>.</summary>
    public static DomainBatch Sample(IReadOnlyList<IReadOnlyList<Example>> domainSets, IReadOnlyList<int> domains,
        int size, Random random, ITextTokenizer tokenizer, int maxPositions)
    {
        var (rowDomains, examples) = Draw(domainSets, domains, size, random);
        var batch = SequenceBatch.Create(tokenizer, examples, maxPositions);
        long length = batch.InputIds.shape[1];
        var sequenceDomains = tensor(rowDomains.Select(d => (long)d).ToArray());
        return new DomainBatch(batch, rowDomains, sequenceDomains, sequenceDomains.repeat_interleave(length));
    }

    /// <summary>Advances <paramref name="random"/> exactly as <see cref="Sample"/> would, without building the batch (resuming a run).</summary>
    public static void Skip(IReadOnlyList<IReadOnlyList<Example>> domainSets, IReadOnlyList<int> domains, int size, Random random) =>
        Draw(domainSets, domains, size, random);

    private static (int[] RowDomains, List<Example> Examples) Draw(IReadOnlyList<IReadOnlyList<Example>> domainSets, IReadOnlyList<int> domains,
        int size, Random random)
    {
        var rowDomains = new int[size];
        var examples = new List<Example>(size);
        for (int i = 0; i < size; i++)
        {
            int d = domains[random.Next(domains.Count)];
            rowDomains[i] = d;
            var set = domainSets[d];
            examples.Add(set[random.Next(set.Count)]);
        }
        return (rowDomains, examples);
    }

    public void Dispose()
    {
        Batch.Dispose();
        SequenceDomains.Dispose();
        TokenDomains.Dispose();
    }
}
