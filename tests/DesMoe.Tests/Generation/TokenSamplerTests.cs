using DesMoe.Core.Generation;
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
