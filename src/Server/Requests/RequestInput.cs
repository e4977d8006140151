namespace DesMoe.Server.Requests;

/// <summary>
/// A generation request as either protocol carries it, before validation: the prompt already in token ids (each
/// protocol has its own prompt forms), and the rest as sent (0 / empty = not given).
/// </summary>
public sealed record RequestInput(
    IReadOnlyList<int> Prompt,
    long MaxNewTokens,
    float Temperature,
    long TopK,
    float TopP,
    long? Seed,
    IReadOnlyList<string> Stops,
    bool IgnoreEndOfText,
    string Domain);

/// <summary>How a protocol spells the fields a validation message names.</summary>
public sealed record FieldNames(string MaxNewTokens, string Domain, string Stop, string Prompt)
{
    public static FieldNames Grpc { get; } = new("max_new_tokens", "domain", "stop", "text");

    public static FieldNames OpenAi { get; } = new("max_tokens", "model", "stop", "prompt");
}
