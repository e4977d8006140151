using DesMoe.Onnx.Generation;
using DesMoe.Formats.Tokenization;
using Xunit;

namespace DesMoe.Tests.Generation;

public class GenerationSessionTests
{
    private static readonly ByteTokenizer Tokenizer = new();

    /// <summary>Feeds the session logits that make greedy decoding choose exactly <paramref name="tokens"/>.</summary>
    private static List<GenerationStep> Drive(GenerationSession session, IEnumerable<int> tokens)
    {
        var steps = new List<GenerationStep>();
        foreach (var token in tokens)
        {
            var logits = new float[Tokenizer.VocabSize];
            logits[token] = 10;
            var step = session.Step(logits);
            steps.Add(step);
            if (step.Finish is not null) break;
        }
        return steps;
    }

    private static IEnumerable<int> Bytes(string s) => Tokenizer.Encode(s);

    [Fact]
    public void Stops_at_the_end_token_without_emitting_it()
    {
        var session = new GenerationSession(Tokenizer, SamplingSettings.Greedy, 0, 10);
        var steps = Drive(session, Bytes("hi").Append(Tokenizer.Special.End).Append('x'));
        Assert.Equal(3, steps.Count);
        Assert.Equal(FinishReason.EndOfText, steps[^1].Finish);
        Assert.Equal("hi", string.Concat(steps.Select(s => s.TextDelta)));
    }

    [Fact]
    public void Ignoring_the_end_token_picks_the_next_best_and_runs_to_the_length_limit()
    {
        var session = new GenerationSession(Tokenizer, SamplingSettings.Greedy, 0, 3, ignoreEndOfText: true);
        var logits = new float[Tokenizer.VocabSize];
        logits[Tokenizer.Special.End] = 10;
        logits['z'] = 5;
        var steps = Enumerable.Range(0, 3).Select(_ => session.Step(logits)).ToList();
        Assert.Equal("zzz", string.Concat(steps.Select(s => s.TextDelta)));
        Assert.Equal(FinishReason.Length, steps[^1].Finish);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_greedy_step_from_the_two_likeliest_tokens_picks_what_the_logits_pick(bool ignoreEnd)
    {
        var fromLogits = new GenerationSession(Tokenizer, SamplingSettings.Greedy, 0, 10, ignoreEndOfText: ignoreEnd);
        var fromTop = new GenerationSession(Tokenizer, SamplingSettings.Greedy, 0, 10, ignoreEndOfText: ignoreEnd);
        foreach (var (best, second) in new (int, int)[] { ('a', 'b'), (Tokenizer.Special.End, 'z'), ('q', Tokenizer.Special.End) })
        {
            var logits = new float[Tokenizer.VocabSize];
            (logits[best], logits[second]) = (9, 8);
            var expected = fromLogits.Step(logits);
            Assert.Equal(expected, fromTop.StepGreedy([best, second]));
            if (expected.Finish is not null) break;
        }
        Assert.Equal(fromLogits.Text, fromTop.Text);
        Assert.Equal(ignoreEnd ? "azq" : "a", fromTop.Text);
    }

    [Fact]
    public void A_sampling_session_refuses_to_pick_from_the_likeliest_tokens_alone()
    {
        var session = new GenerationSession(Tokenizer, new SamplingSettings(Temperature: 1), 0, 10);
        Assert.False(session.IsGreedy);
        Assert.Throws<InvalidOperationException>(() => session.StepGreedy([1, 2]));
    }

    [Fact]
    public void Stops_at_the_length_limit()
    {
        var session = new GenerationSession(Tokenizer, SamplingSettings.Greedy, 0, 3);
        var steps = Drive(session, Bytes("abcdef"));
        Assert.Equal(FinishReason.Length, steps[^1].Finish);
        Assert.Equal("abc", string.Concat(steps.Select(s => s.TextDelta)));
    }

    [Fact]
    public void Stop_sequence_is_cut_and_its_prefix_never_streamed()
    {
        var session = new GenerationSession(Tokenizer, SamplingSettings.Greedy, 0, 50, ["END"]);
        var steps = Drive(session, Bytes("abEXENDzz"));
        Assert.Equal(FinishReason.StopSequence, steps[^1].Finish);
        Assert.Equal("abEX", string.Concat(steps.Select(s => s.TextDelta)));
        Assert.Equal("abEX", session.Text);
        // "E" after "ab" is held back until it is clear it does not start "END"
        Assert.Equal("", steps[2].TextDelta);
        Assert.Equal("EX", steps[3].TextDelta);
    }

    [Fact]
    public void Multi_byte_characters_are_released_whole()
    {
        var session = new GenerationSession(Tokenizer, SamplingSettings.Greedy, 0, 10);
        var steps = Drive(session, Bytes("é!"));
        Assert.Equal(["", "é", "!"], steps.Select(s => s.TextDelta));
    }
}
