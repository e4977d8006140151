namespace DesMoe.Formats.Chat;

/// <summary>One turn of a conversation as a chat template sees it: <c>{"role": ..., "content": ...}</c>.</summary>
/// <param name="Role">"system", "user", "assistant" or whatever else the model's template accepts</param>
/// <param name="Content">the turn's text</param>
public sealed record ChatMessage(string Role, string Content);
