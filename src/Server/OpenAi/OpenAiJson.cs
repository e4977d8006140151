using System.Text.Json;
using System.Text.Json.Serialization;

namespace DesMoe.Server.OpenAi;

/// <summary>The JSON settings of the HTTP API: the wire records name their fields; nulls are written (OpenAI's finish_reason: null).</summary>
public static class OpenAiJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        NumberHandling = JsonNumberHandling.Strict,
    };
}
