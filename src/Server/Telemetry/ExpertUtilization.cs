using DesMoe.Core.Onnx;

namespace DesMoe.Server.Telemetry;

/// <summary>Counts, per domain, MoE layer and expert, how often the served model routed a token to the expert.</summary>
public sealed class ExpertUtilization(IReadOnlyList<string> domains, int layers, int experts)
{
    private readonly long[,,] _counts = new long[domains.Count + 1, layers, experts];
    private readonly string[] _domainTags = [ServerTelemetry.DomainTag(null), .. domains];

    /// <param name="rowDomains">each batch row's domain id (-1 = none)</param>
    public void Record(OnnxStepOutput output, IReadOnlyList<int> rowDomains)
    {
        if (!output.HasRouting) return;
        Array.Clear(_counts);
        for (int l = 0; l < _counts.GetLength(1); l++)
        {
            var chosen = output.RouterExperts(l);
            int perToken = chosen.Length / (output.Batch * output.Sequence);
            for (int i = 0; i < chosen.Length; i++)
                _counts[rowDomains[i / perToken / output.Sequence] + 1, l, (int)chosen[i]]++;
        }
        for (int d = 0; d < _counts.GetLength(0); d++)
            for (int l = 0; l < _counts.GetLength(1); l++)
                for (int e = 0; e < _counts.GetLength(2); e++)
                    if (_counts[d, l, e] > 0)
                        ServerTelemetry.ExpertSelections.Add(_counts[d, l, e], new("domain", _domainTags[d]), new("layer", l), new("expert", e));
    }
}
