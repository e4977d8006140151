namespace DesMoe.Tests.Support;

/// <summary>The <c>dotnet</c> executable the tests start child processes with: the one running them when the SDK says so.</summary>
internal static class DotnetHost
{
    public static string Path => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
}
