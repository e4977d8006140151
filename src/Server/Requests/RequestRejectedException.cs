namespace DesMoe.Server.Requests;

/// <summary>Why a request is refused, whatever the protocol: gRPC answers INVALID_ARGUMENT / NOT_FOUND, HTTP 400 / 404.</summary>
public enum Rejection
{
    Invalid,
    NotFound,
}

/// <summary>A request the server refuses before it reaches the engine, with the field at fault and a message naming the value.</summary>
/// <param name="Param">the field as the protocol spells it (e.g. <c>max_tokens</c> over HTTP, <c>max_new_tokens</c> over gRPC); null when no one field is at fault</param>
public sealed class RequestRejectedException(Rejection kind, string? param, string message) : Exception(message)
{
    public Rejection Kind { get; } = kind;

    public string? Param { get; } = param;
}
