using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DesMoe.Protos.V1;
using Grpc.Core;

namespace DesMoe.Bench.Load;

/// <summary>
/// The same streaming request through the OpenAI-compatible API: <c>POST /v1/completions</c> with <c>stream</c> and
/// <c>stream_options.include_usage</c>, the domain as the model id (<c>{model}:{domain}</c>; no domain = <c>{model}</c>,
/// routed as auto like gRPC's empty domain on a server that infers). A chunk carries text, not token ids, so each
/// chunk with text is one arrival and the usage chunk gives the count; a chunk that carried k tokens adds k - 1 gaps of
/// 0 ms, as <see cref="TokenArrivals"/> counts a gRPC message of k tokens, only at the end of the stream instead.
/// </summary>
public sealed class HttpStreamTarget(HttpClient http, string address, string model) : IStreamTarget
{
    public string Protocol => "http";

    /// <summary>The served model's id, the first entry of <c>GET /v1/models</c>.</summary>
    public static async Task<string> ServedModelAsync(HttpClient http, string address, CancellationToken cancellation)
    {
        using var models = JsonDocument.Parse(await http.GetStringAsync(address.TrimEnd('/') + "/v1/models", cancellation));
        return models.RootElement.GetProperty("data")[0].GetProperty("id").GetString()!;
    }

    public async Task<long> StreamAsync(GenerateRequest request, TokenArrivals arrivals, CancellationToken cancellation)
    {
        var body = new Dictionary<string, object>
        {
            ["model"] = request.Domain.Length == 0 ? model : $"{model}:{request.Domain}",
            ["prompt"] = request.Text,
            ["max_tokens"] = request.MaxNewTokens,
            ["stream"] = true,
            ["stream_options"] = new Dictionary<string, object> { ["include_usage"] = true },
            ["ignore_eos"] = request.IgnoreEndOfText,
            ["temperature"] = request.Sampling?.Temperature ?? 0,
        };
        if (request.Sampling is { } sampling)
        {
            if (sampling.TopK > 0) body["top_k"] = sampling.TopK;
            if (sampling.TopP > 0) body["top_p"] = sampling.TopP;
            if (sampling.HasSeed) body["seed"] = sampling.Seed;
        }
        using var message = new HttpRequestMessage(HttpMethod.Post, address.TrimEnd('/') + "/v1/completions") { Content = JsonContent.Create(body) };
        try
        {
            using var response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellation);
            if (response.StatusCode != HttpStatusCode.OK)
                throw new StreamFailedException(StatusOf(response.StatusCode), await response.Content.ReadAsStringAsync(cancellation));
            var reader = PipeReader.Create(await response.Content.ReadAsStreamAsync(cancellation));
            long chunks = 0, usage = -1;
            while (true)
            {
                var read = await reader.ReadAsync(cancellation);
                var buffer = read.Buffer;
                while (buffer.PositionOf((byte)'\n') is { } end)
                {
                    var line = buffer.Slice(0, end);
                    buffer = buffer.Slice(buffer.GetPosition(1, end));
                    if (line.Length <= Data.Length || !Equals(line.Slice(0, Data.Length), Data)) continue;
                    var json = line.Slice(Data.Length);
                    if (json.Length == Done.Length && Equals(json, Done)) continue;
                    var (hasText, completionTokens) = Scan(json);
                    if (completionTokens >= 0) usage = completionTokens;
                    if (!hasText) continue;
                    arrivals.Arrived(1);
                    chunks++;
                }
                reader.AdvanceTo(buffer.Start, buffer.End);
                if (read.IsCompleted) break;
            }
            await reader.CompleteAsync();
            if (usage < 0) throw new StreamFailedException(StatusCode.DataLoss, "the stream ended without its usage chunk");
            for (long extra = chunks; extra < usage; extra++) arrivals.Gaps.Add(0);
            return usage;
        }
        catch (HttpRequestException e) when (!cancellation.IsCancellationRequested)
        {
            throw new StreamFailedException(StatusCode.Unavailable, e.Message);
        }
    }

    private static bool Equals(ReadOnlySequence<byte> bytes, ReadOnlySpan<byte> expected) =>
        bytes.IsSingleSegment ? bytes.FirstSpan.SequenceEqual(expected) : bytes.ToArray().AsSpan().SequenceEqual(expected);

    private static ReadOnlySpan<byte> Data => "data: "u8;
    private static ReadOnlySpan<byte> Done => "[DONE]"u8;

    /// <summary>
    /// Whether a chunk's first choice has text, and the usage's completion_tokens (-1 without one), read in place with
    /// a forward-only reader: the client shares the machine with the server, so it parses no more than it needs.
    /// </summary>
    private static (bool HasText, long CompletionTokens) Scan(System.Buffers.ReadOnlySequence<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        bool hasText = false;
        long completion = -1;
        while (reader.Read())
        {
            if (reader.TokenType != JsonTokenType.PropertyName) continue;
            if (reader.ValueTextEquals("text"u8))
            {
                reader.Read();
                hasText |= reader.TokenType == JsonTokenType.String && (reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length) > 0;
            }
            else if (reader.ValueTextEquals("completion_tokens"u8))
            {
                reader.Read();
                completion = reader.GetInt64();
            }
        }
        return (hasText, completion);
    }

    private static StatusCode StatusOf(HttpStatusCode status) => status switch
    {
        HttpStatusCode.BadRequest or HttpStatusCode.RequestEntityTooLarge => StatusCode.InvalidArgument,
        HttpStatusCode.Unauthorized => StatusCode.Unauthenticated,
        HttpStatusCode.NotFound => StatusCode.NotFound,
        HttpStatusCode.TooManyRequests => StatusCode.ResourceExhausted,
        HttpStatusCode.ServiceUnavailable => StatusCode.Unavailable,
        _ => StatusCode.Internal,
    };
}
