using DesMoe.Onnx.Generation;
using Xunit;

namespace DesMoe.Tests.Generation;

public class TokenSamplerTests
{
    private static readonly float[] Logits = [1f, 4f, 3f, -2f, 0f];

    [Fact]
    public void Greedy_picks_the_largest_logit()
    {
        Assert.Equal(1, new TokenSampler(SamplingSettings.Greedy, new Random(1)).Next(Logits));
    }

    [Fact]
    public void Top_k_one_is_greedy_whatever_the_temperature()
    {
        var sampler = new TokenSampler(new SamplingSettings(Temperature: 5, TopK: 1), new Random(2));
        Assert.All(Enumerable.Range(0, 200), _ => Assert.Equal(1, sampler.Next(Logits)));
    }

    [Fact]
    public void Top_k_restricts_to_the_k_most_likely_and_top_p_to_the_nucleus()
    {
        var topK = new TokenSampler(new SamplingSettings(Temperature: 10, TopK: 2), new Random(3));
        var seen = Enumerable.Range(0, 500).Select(_ => topK.Next(Logits)).ToHashSet();
        Assert.Equal(new HashSet<int> { 1, 2 }, seen);

        // softmax(4,3,1,0,-2): p(1)=0.64, p(2)=0.24 -> nucleus 0.8 holds tokens 1 and 2
        var topP = new TokenSampler(new SamplingSettings(Temperature: 1, TopP: 0.8f), new Random(4));
        Assert.Equal(new HashSet<int> { 1, 2 }, Enumerable.Range(0, 500).Select(_ => topP.Next(Logits)).ToHashSet());
    }

    [Fact]
    public void Sampling_frequencies_follow_the_softmax()
    {
        var sampler = new TokenSampler(new SamplingSettings(Temperature: 1), new Random(5));
        const int draws = 20000;
        int ones = Enumerable.Range(0, draws).Count(_ => sampler.Next(Logits) == 1);
        double expected = Math.Exp(4) / Logits.Sum(l => Math.Exp(l));
        Assert.InRange(ones / (double)draws, expected - 0.02, expected + 0.02);
    }

    [Fact]
    public void Same_seed_same_samples()
    {
        var settings = new SamplingSettings(Temperature: 1.5f, TopK: 4, TopP: 0.95f);
        var a = new TokenSampler(settings, new Random(9));
        var b = new TokenSampler(settings, new Random(9));
        Assert.Equal(Enumerable.Range(0, 50).Select(_ => a.Next(Logits)), Enumerable.Range(0, 50).Select(_ => b.Next(Logits)));
    }

    /// <summary>
    /// The sampler as defined, with nothing left out: every token sorted by its scaled logit (lower id first among
    /// equals), top-k, then top-p over what top-k kept, then a draw over what is left, walking from the most likely;
    /// with neither filter, a draw over every token walking in id order.
    /// </summary>
    private static int ReferenceSample(float[] logits, SamplingSettings settings, Random random, int banned)
    {
        var scaled = logits.Select((l, i) => i == banned ? double.NegativeInfinity : (double)(l / settings.Temperature)).ToArray();
        if (settings.TopK == 0 && settings.TopP is 0 or 1)
        {
            var byId = scaled.Select(s => Math.Exp(s - scaled.Max())).ToArray();
            double at = random.NextDouble() * byId.Sum();
            for (int i = 0; i < byId.Length; i++)
                if (byId[i] > 0 && (at -= byId[i]) < 0) return i;
            return Array.FindLastIndex(byId, w => w > 0);
        }
        var order = Enumerable.Range(0, logits.Length).OrderByDescending(i => scaled[i]).ThenBy(i => i).ToArray();
        double max = scaled[order[0]];
        var weights = order.Select(i => Math.Exp(scaled[i] - max)).ToArray();
        int keep = settings.TopK > 0 ? Math.Min(settings.TopK, order.Length) : order.Length;
        double mass = weights.Take(keep).Sum();
        if (settings.TopP is > 0 and < 1)
        {
            double cumulative = 0;
            for (int i = 0; i < keep; i++)
                if ((cumulative += weights[i]) >= settings.TopP * mass)
                {
                    keep = i + 1;
                    break;
                }
        }
        double draw = random.NextDouble() * weights.Take(keep).Sum();
        for (int i = 0; i < keep; i++)
            if ((draw -= weights[i]) < 0) return order[i];
        return order[keep - 1];
    }

    [Theory]
    [InlineData(1f, 0, 0f)]
    [InlineData(0.7f, 40, 0f)]
    [InlineData(1f, 0, 0.9f)]
    [InlineData(1.3f, 50, 0.95f)]
    [InlineData(8f, 0, 0f)]           // nearly flat
    [InlineData(8f, 0, 0.999f)]       // a nucleus far past the first ranks: every token gets ranked
    [InlineData(8f, 200, 0f)]         // top-k past the first ranks
    [InlineData(1f, 5000, 0f)]        // top-k as large as the vocabulary
    [InlineData(0.05f, 0, 0.5f)]      // a nucleus of one token
    public void Picks_what_the_full_sort_picks_for_the_same_draws(float temperature, int topK, float topP)
    {
        var settings = new SamplingSettings(temperature, topK, topP);
        var logitsSource = new Random(17);
        var sampler = new TokenSampler(settings, new Random(23));
        var reference = new Random(23);
        for (int row = 0; row < 60; row++)
        {
            // A vocabulary of 5,000 with a few strong candidates, ties, a banned token and -inf entries.
            var logits = Enumerable.Range(0, 5000).Select(_ => (float)Math.Round(logitsSource.NextDouble() * 6, 1)).ToArray();
            for (int i = 0; i < 5; i++) logits[logitsSource.Next(5000)] = 9 + i;
            logits[logitsSource.Next(5000)] = float.NegativeInfinity;
            int banned = row % 2 == 0 ? logitsSource.Next(5000) : -1;
            Assert.Equal(ReferenceSample(logits, settings, reference, banned), sampler.Next(logits, banned));
        }
    }

    [Fact]
    public void A_banned_token_is_never_picked()
    {
        Assert.Equal(2, TokenSampler.ArgMax(Logits, banned: 1));
        Assert.Equal(2, new TokenSampler(SamplingSettings.Greedy, new Random(1)).Next(Logits, banned: 1));
        var sampler = new TokenSampler(new SamplingSettings(Temperature: 1, TopK: 2), new Random(6));
        Assert.Equal(new HashSet<int> { 2, 0 }, Enumerable.Range(0, 500).Select(_ => sampler.Next(Logits, banned: 1)).ToHashSet());
        float[] firstIsBest = [5f, 1f, 2f];
        Assert.Equal(2, TokenSampler.ArgMax(firstIsBest, banned: 0));
    }

    [Fact]
    public void Invalid_settings_name_the_field()
    {
        var problems = new SamplingSettings(Temperature: -1, TopK: -3, TopP: 1.5f).Problems();
        Assert.Contains(problems, p => p.StartsWith("temperature"));
        Assert.Contains(problems, p => p.StartsWith("top_k"));
        Assert.Contains(problems, p => p.StartsWith("top_p"));
        Assert.Empty(new SamplingSettings(0.7f, 40, 0.9f).Problems());
    }
}
