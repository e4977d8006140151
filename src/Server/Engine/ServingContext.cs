using DesMoe.Formats.Config;

namespace DesMoe.Server.Engine;

/// <summary>
/// How many positions (prompt + generated tokens) one served sequence may hold. The engine preallocates KV slots for
/// max_batch sequences of this length, so a real model's own max_position_embeddings (163,840 for DeepSeek-V2-Lite:
/// 32 x 163,840 x 2 x 576 floats a layer) cannot be the default; the window is the model's length up to
/// <see cref="DefaultCap"/>, or what <c>DesMoe:MaxContextTokens</c> asks for, never more than the model's.
/// </summary>
public static class ServingContext
{
    public const int DefaultCap = 4096;

    /// <param name="requested">the operator's DesMoe:MaxContextTokens; 0 for the default</param>
    public static int Window(MoeConfig config, int requested)
    {
        if (requested < 0) throw new ArgumentOutOfRangeException(nameof(requested), requested, "DesMoe:MaxContextTokens must not be negative (0 = the model's length up to 4096)");
        if (requested > config.MaxPositions)
            throw new ArgumentException($"DesMoe:MaxContextTokens {requested} is over the model's max_position_embeddings ({config.MaxPositions})");
        return requested > 0 ? requested : Math.Min(config.MaxPositions, DefaultCap);
    }
}
