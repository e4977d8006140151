namespace DesMoe.Formats.Tokenization;

/// <summary>
/// GPT-2's reversible byte-to-character map used by byte-level BPE vocabularies: printable Latin-1 bytes map to
/// themselves, the other 68 bytes to U+0100 onwards (so a space is 'Ġ', U+0120).
/// </summary>
public static class ByteLevelAlphabet
{
    private static readonly char[] ByteToChar = Build();
    private static readonly Dictionary<char, byte> CharToByte = ByteToChar.Select((c, b) => (c, b)).ToDictionary(p => p.c, p => (byte)p.b);

    public static char Encode(byte value) => ByteToChar[value];

    /// <summary>The bytes a token stands for, or null if some character is outside the alphabet (e.g. an added token's text).</summary>
    public static byte[]? Decode(string token)
    {
        var bytes = new byte[token.Length];
        for (int i = 0; i < token.Length; i++)
        {
            if (!CharToByte.TryGetValue(token[i], out var b)) return null;
            bytes[i] = b;
        }
        return bytes;
    }

    private static char[] Build()
    {
        var map = new char[256];
        bool Printable(int b) => b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
        int next = 256;
        for (int b = 0; b < 256; b++) map[b] = Printable(b) ? (char)b : (char)next++;
        return map;
    }
}
