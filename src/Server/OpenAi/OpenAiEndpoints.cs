using System.Text.Json;
using DesMoe.Server.OpenAi.Wire;
using DesMoe.Server.Options;
using DesMoe.Server.Versions;
using Microsoft.AspNetCore.Http.Features;

namespace DesMoe.Server.OpenAi;

/// <summary>
/// The OpenAI-compatible HTTP API (minimal APIs under <c>/v1</c>): models, completions and chat completions, beside the
/// gRPC contract and through the same engine. Admin stays on gRPC. Every refusal is OpenAI's error shape.
/// </summary>
public static class OpenAiEndpoints
{
    public static IServiceCollection AddOpenAiApi(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<HttpApiOptions>(configuration.GetSection(HttpApiOptions.Section));
        services.AddSingleton(sp => sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<HttpApiOptions>>().Value);
        services.AddSingleton<ApiKeys>();
        services.AddSingleton<ServedModels>();
        services.AddSingleton<ChatTemplates>();
        services.AddSingleton<CompletionHandlers>();
        return services;
    }

    public static void MapOpenAiApi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1").AddEndpointFilter(Guard);
        v1.MapGet("/models", (ModelHost host, ServedModels models) =>
        {
            using var lease = host.Acquire();
            return TypedResults.Json(models.List(lease.Version, lease.Engine), OpenAiJson.Options);
        });
        v1.MapPost("/completions", async (HttpContext http, CompletionHandlers handlers, HttpApiOptions options) =>
            await handlers.Completions(await ReadBody<CompletionRequestBody>(http, options.MaxRequestBytes), http));
        v1.MapPost("/chat/completions", async (HttpContext http, CompletionHandlers handlers, HttpApiOptions options) =>
            await handlers.ChatCompletions(await ReadBody<ChatCompletionRequestBody>(http, options.MaxRequestBytes), http));
        // Anything else under /v1 is OpenAI's 404, not an empty one.
        v1.Map("/{**rest}", (HttpContext http) =>
            OpenAiException.NotFound(null, $"{http.Request.Method} {http.Request.Path} is not an endpoint of this server (GET /v1/models, POST /v1/completions, POST /v1/chat/completions)")
                .ToResult());
    }

    /// <summary>
    /// Before every route: 503 while the server stops, 401 without a valid API key when keys are configured; and after
    /// it, any <see cref="OpenAiException"/> as its error body and status.
    /// </summary>
    private static async ValueTask<object?> Guard(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var services = http.RequestServices;
        try
        {
            if (services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested)
                throw OpenAiException.Unavailable("the server is shutting down");
            services.GetRequiredService<ApiKeys>().Demand(http.Request.Headers.Authorization.ToString());
            return await next(context);
        }
        catch (OpenAiException e)
        {
            return e.ToResult();
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            return Results.Empty; // the client hung up; its batch slot is already free
        }
        catch (Exception e)
        {
            services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(OpenAiEndpoints)).LogError(e, "{Method} {Path} failed", http.Request.Method, http.Request.Path);
            return new OpenAiException(StatusCodes.Status500InternalServerError, "server_error", null, null, "the server failed to answer this request").ToResult();
        }
    }

    /// <summary>The JSON body, with a size limit (413) and malformed JSON as 400 naming where it broke.</summary>
    private static async Task<T> ReadBody<T>(HttpContext http, long limit) where T : class
    {
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = limit;
        if (http.Request.ContentLength > limit) throw OpenAiException.TooLarge(limit);
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(http.Request.Body, OpenAiJson.Options, http.RequestAborted)
                   ?? throw OpenAiException.Invalid(null, "the request body is JSON null; send a JSON object");
        }
        catch (JsonException e)
        {
            throw OpenAiException.Invalid(e.Path is { Length: > 2 } path ? path[2..] : null, $"the request body is not valid JSON for this route: {e.Message}");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw OpenAiException.TooLarge(limit);
        }
    }
}
