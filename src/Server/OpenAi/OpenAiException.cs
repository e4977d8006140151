using DesMoe.Server.OpenAi.Wire;

namespace DesMoe.Server.OpenAi;

/// <summary>A refusal in OpenAI's error shape: the HTTP status, and the body's type, param and code.</summary>
public sealed class OpenAiException(int status, string type, string? param, string? code, string message) : Exception(message)
{
    public int Status { get; } = status;

    public ErrorBody Body => new(new ErrorDetail(Message, type, param, code));

    public static OpenAiException Invalid(string? param, string message) => new(StatusCodes.Status400BadRequest, "invalid_request_error", param, null, message);

    public static OpenAiException NotFound(string? param, string message) => new(StatusCodes.Status404NotFound, "invalid_request_error", param, "model_not_found", message);

    public static OpenAiException Unsupported(string param) =>
        new(StatusCodes.Status400BadRequest, "invalid_request_error", param, "unsupported_parameter", $"'{param}' is not supported by this server");

    public static OpenAiException Unauthorized(string message) => new(StatusCodes.Status401Unauthorized, "invalid_request_error", null, "invalid_api_key", message);

    public static OpenAiException Overloaded(string message) => new(StatusCodes.Status429TooManyRequests, "rate_limit_error", null, "rate_limit_exceeded", message);

    public static OpenAiException Unavailable(string message) => new(StatusCodes.Status503ServiceUnavailable, "server_error", null, "service_unavailable", message);

    public static OpenAiException TooLarge(long limit) =>
        new(StatusCodes.Status413PayloadTooLarge, "invalid_request_error", null, "request_too_large", $"the request body exceeds this server's limit of {limit} bytes");

    public IResult ToResult() => TypedResults.Json(Body, OpenAiJson.Options, statusCode: Status);
}
