using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DesMoe.Tests.Server;
using OpenAI;

namespace DesMoe.Tests.Http;

/// <summary>
/// The real server with its HTTP API on a loopback port, and the clients users have: the official OpenAI .NET SDK
/// (no retries, so a 429 surfaces as one) and a plain HttpClient for what the SDK has no client for (legacy
/// completions, raw bodies). Chat goes through a small template that joins the messages' contents.
/// </summary>
public class OpenAiApiFixture : ServerFixture
{
    public const string Model = "base"; // the string-skills model's folder name

    /// <summary>Joins system and user contents, so a chat prompt is the completion prompt's text.</summary>
    public const string JoiningTemplate =
        "{% for m in messages %}{% if m.role != 'assistant' %}{{ m.content }}{% endif %}{% endfor %}";

    public OpenAiApiFixture() => File.WriteAllText(Data.File("chat.jinja"), JoiningTemplate);

    protected override string[] ExtraArguments => [$"--DesMoe:Http:ChatTemplate={Data.File("chat.jinja")}", "--DesMoe:Http:MaxRequestBytes=4096"];

    public string HttpAddress => Server.HttpAddress;

    public OpenAIClient OpenAi(string apiKey = "unused") => Sdk(HttpAddress, apiKey);

    public static OpenAIClient Sdk(string httpAddress, string apiKey = "unused") =>
        new(new ApiKeyCredential(apiKey), new OpenAIClientOptions { Endpoint = new Uri(httpAddress + "/v1"), RetryPolicy = new ClientRetryPolicy(0) });

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromMinutes(2) };

    public Task<HttpResponseMessage> PostAsync(string route, object body, string? apiKey = null) => Post(Http, HttpAddress, route, body, apiKey);

    public static Task<HttpResponseMessage> Post(HttpClient http, string address, string route, object body, string? apiKey = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, address + route)
        {
            Content = body is string raw ? new StringContent(raw, Encoding.UTF8, "application/json") : JsonContent.Create(body),
        };
        if (apiKey is not null) request.Headers.Authorization = new("Bearer", apiKey);
        return http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    /// <summary>The <c>data:</c> payloads of a server-sent event stream, in order (the last is <c>[DONE]</c>).</summary>
    public static async Task<List<string>> EventsAsync(HttpResponseMessage response)
    {
        var events = new List<string>();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync() is { } line)
            if (line.StartsWith("data: ", StringComparison.Ordinal)) events.Add(line["data: ".Length..]);
        return events;
    }

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
}
