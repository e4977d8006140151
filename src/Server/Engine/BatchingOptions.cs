namespace DesMoe.Server.Engine;

public sealed record BatchingOptions
{
    /// <summary>Most sequences decoded together in one step.</summary>
    public int MaxBatch { get; init; } = 32;

    /// <summary>Requests allowed to wait for a batch slot; beyond it requests are refused at once.</summary>
    public int QueueCapacity { get; init; } = 64;

    /// <summary>Positions (prompt + generated) one sequence may hold; the KV slots are allocated for this many.</summary>
    public int ContextWindow { get; init; } = ServingContext.DefaultCap;
}
