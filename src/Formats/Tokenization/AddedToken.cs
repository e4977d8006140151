namespace DesMoe.Formats.Tokenization;

/// <summary>An entry of tokenizer.json's <c>added_tokens</c>: matched verbatim in the input before normalisation.</summary>
/// <param name="Special">special tokens (bos/eos/chat markers, byte-fallback pieces) are dropped by decode when skipping specials</param>
public sealed record AddedToken(int Id, string Content, bool Special);
