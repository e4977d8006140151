namespace DesMoe.Server.Engine;

/// <summary>The engine stopped (server shutdown) before the request finished; reported as UNAVAILABLE so clients retry elsewhere.</summary>
public sealed class EngineStoppedException() : Exception("the server is shutting down; retry the request");
