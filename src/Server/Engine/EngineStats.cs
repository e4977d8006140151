namespace DesMoe.Server.Engine;

/// <summary>An engine's load at one moment, for the queue-depth and KV-cache gauges.</summary>
public readonly record struct EngineStats(int Waiting, int Active, long KvCacheBytes);
