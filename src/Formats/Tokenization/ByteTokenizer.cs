using System.Text;

namespace DesMoe.Formats.Tokenization;

/// <summary>UTF-8 bytes as ids 0..255, special tokens at 256..259. Small vocabulary for the bundled model.</summary>
public sealed class ByteTokenizer : ITextTokenizer
{
    public const string TypeName = "byte";

    public string Name => TypeName;
    public int VocabSize => 260;
    public SpecialTokens Special { get; } = SpecialTokens.Consecutive(256);

    public IReadOnlyList<int> Encode(string text) => Encoding.UTF8.GetBytes(text).Select(b => (int)b).ToArray();

    public string Decode(IEnumerable<int> ids) =>
        Encoding.UTF8.GetString(ids.Where(id => id is >= 0 and < 256).Select(id => (byte)id).ToArray());
}
