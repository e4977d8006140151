using DesMoe.Onnx;

namespace DesMoe.Server.DomainInference;

/// <summary>
/// How a prompt uses the experts: for each MoE layer, the share of the prompt's top-k selections each routed expert
/// got, when the prompt runs through the served graph on the plain (no-domain) router. Layers are concatenated:
/// [layers x experts], every layer summing to 1. Prompts of one domain share words and structure, so their
/// profiles cluster; the profile is what <see cref="DomainClassifier"/> compares.
/// </summary>
public static class RoutingProfile
{
    /// <summary>Runs <paramref name="prompt"/> (token ids, control tokens included) through one prefill step and returns its profile.</summary>
    public static float[] Of(OnnxDecoder decoder, IReadOnlyList<int> prompt)
    {
        var config = decoder.Info.Config;
        int n = prompt.Count;
        var input = new OnnxStepInput(1, n, prompt.Select(t => (long)t).ToArray(), Enumerable.Repeat(1L, n).ToArray(),
            Enumerable.Range(0, n).Select(p => (long)p).ToArray(), [decoder.Info.DomainId("")]);
        using var past = decoder.EmptyCache(1);
        using var output = decoder.Run(input, past);
        if (!output.HasRouting) throw new InvalidOperationException($"{decoder.ModelPath} does not report its routed experts; export it again to infer domains");
        var profile = new float[config.NumMoeLayers * config.NumRoutedExperts];
        for (int layer = 0; layer < config.NumMoeLayers; layer++)
        {
            var experts = output.RouterExperts(layer);
            float share = 1f / experts.Length;
            foreach (var expert in experts) profile[layer * config.NumRoutedExperts + (int)expert] += share;
        }
        return profile;
    }

    public static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return na == 0 || nb == 0 ? 0 : dot / Math.Sqrt(na * nb);
    }
}
