using DesMoe.Formats.Evaluation;
using Xunit;

namespace DesMoe.Tests.Data;

/// <summary>ROUGE-L F1 on cases worked out by hand (LCS over lower-cased words; P = LCS/|candidate|, R = LCS/|reference|).</summary>
public class RougeLTests
{
    [Theory]
    // LCS "the cat on the mat" = 5 of 6 words each side: P = R = F = 5/6.
    [InlineData("the cat sat on the mat", "the cat is on the mat", 5.0 / 6)]
    // LCS "police the gunman" = 3 of 4 each side.
    [InlineData("police killed the gunman", "police kill the gunman", 0.75)]
    // LCS 3: P = 3/5, R = 3/3, F = 2(0.6)(1)/1.6 = 0.75.
    [InlineData("a b c d e", "a c e", 0.75)]
    // Order matters: LCS of "b a" and "a b" is 1, P = R = 1/2.
    [InlineData("b a", "a b", 0.5)]
    // LCS 1 ("x"): P = 1/1, R = 1/4, F = 2(1)(0.25)/1.25 = 0.4.
    [InlineData("x", "w x y z", 0.4)]
    // Case and punctuation are not words: "Hello, World!" is "hello world".
    [InlineData("Hello, World!", "hello world", 1.0)]
    public void F1_matches_hand_computed_values(string candidate, string reference, double expected) =>
        Assert.Equal(expected, RougeL.F1(candidate, reference), precision: 12);

    [Fact]
    public void Identical_strings_score_one_and_disjoint_ones_zero()
    {
        Assert.Equal(1.0, RougeL.F1("Real-time strategy game of ancient warfare", "Real-time strategy game of ancient warfare"));
        Assert.Equal(0.0, RougeL.F1("GNU R fast argument checks", "Perl module for Nginx"));
    }

    [Fact]
    public void Empty_sides_score_zero()
    {
        Assert.Equal(0.0, RougeL.F1("", "a reference"));
        Assert.Equal(0.0, RougeL.F1("a candidate", ""));
        Assert.Equal(0.0, RougeL.F1("...", "!!"));
    }

    [Fact]
    public void Precision_and_recall_are_reported_apart()
    {
        var score = RougeL.Compute("a b c d e", "a c e");

        Assert.Equal(0.6, score.Precision, precision: 12);
        Assert.Equal(1.0, score.Recall, precision: 12);
        Assert.Equal(3, RougeL.LongestCommonSubsequence(RougeL.Tokens("A B C D E"), RougeL.Tokens("a, c; e.")));
        Assert.Equal(["ünïcode", "42", "words"], RougeL.Tokens("Ünïcode-42 words"));
    }
}
