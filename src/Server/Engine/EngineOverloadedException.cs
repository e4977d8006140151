namespace DesMoe.Server.Engine;

/// <summary>The engine's queue is full; the caller should retry later (gRPC RESOURCE_EXHAUSTED).</summary>
public sealed class EngineOverloadedException(int maxBatch, int queueSize)
    : Exception($"the server is at capacity ({maxBatch} sequences decoding and {queueSize} waiting, the queue size); retry later")
{
}
