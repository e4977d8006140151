using DesMoe.Formats.Tokenization;

namespace DesMoe.Onnx.Generation;

/// <summary>
/// The text of a growing token sequence, kept equal to decoding all of it, while each new token decodes only a short
/// window: the tokens since the text last ended on a whole character, plus the window before that as context (the
/// approach of vLLM's detokenizer and transformers' TextStreamer). Decoding everything on every token costs O(n) per
/// token, which at 512 new tokens and a full batch is a large part of a decode step.
/// </summary>
/// <remarks>
/// The context matters for tokenizers whose decoding depends on what precedes a token (a Metaspace decoder drops the
/// leading space of the first piece): the new text is what the window decodes to beyond what its context alone does.
/// The window moves on only when the new text does not end in U+FFFD, i.e. not inside a character split over byte
/// tokens, so both ends of a window fall on character boundaries, where appending bytes cannot change earlier text.
/// Should a tokenizer ever decode a window to something that does not extend its context's text, the sequence is
/// decoded whole for that token and the window starts over from there.
/// </remarks>
public sealed class IncrementalDetokenizer(ITextTokenizer tokenizer)
{
    private readonly List<int> _tokens = [];
    private string _settled = "";      // the text of tokens [0, _read)
    private int _context, _read;       // tokens [_context, _read) are the window's context, [_read, count) its new tokens
    private string _contextText = "";  // tokens [_context, _read) decoded alone

    public IReadOnlyList<int> Tokens => _tokens;

    /// <summary>Equal to decoding <see cref="Tokens"/>.</summary>
    public string Text { get; private set; } = "";

    public void Append(int token)
    {
        _tokens.Add(token);
        var window = tokenizer.Decode(Range(_context, _tokens.Count));
        if (!window.StartsWith(_contextText, StringComparison.Ordinal))
        {
            Text = tokenizer.Decode(_tokens);
            (_settled, _context, _read, _contextText) = ("", 0, 0, "");
            Settle(Text);
            return;
        }
        var added = window[_contextText.Length..];
        Text = _settled + added;
        Settle(added);
    }

    /// <summary>Moves the window on when the text ends on a whole character: the new tokens become the next context.</summary>
    private void Settle(string added)
    {
        if (added.Length == 0 || added[^1] == '\uFFFD') return;
        _settled = Text;
        (_context, _read) = (_read, _tokens.Count);
        _contextText = tokenizer.Decode(Range(_context, _read));
    }

    private IEnumerable<int> Range(int from, int to)
    {
        for (int i = from; i < to; i++) yield return _tokens[i];
    }
}
