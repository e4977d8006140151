using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;

namespace DesMoe.Tests.Deployment;

public class DashboardTests
{
    /// <summary>Every metric the Grafana dashboard queries is one the server exports (names as the Prometheus exporter writes them).</summary>
    [Fact]
    public void The_dashboard_queries_only_metrics_the_server_exports()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "DesMoe.sln"))) root = root.Parent!;
        using var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(root.FullName, "deploy/grafana/desmoe-server.json")));
        var queried = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray()).Select(t => t.GetProperty("expr").GetString()!)
            .SelectMany(e => Regex.Matches(e, @"\bdesmoe_[a-z_]+").Select(m => m.Value)).ToHashSet();
        var source = string.Concat(Directory.GetFiles(Path.Combine(root.FullName, "src/Server/Telemetry"), "*.cs").Select(File.ReadAllText));
        var declared = Regex.Matches(source, "\"(desmoe\\.[a-z_.]+)\"").Select(m => m.Groups[1].Value.Replace('.', '_')).ToList();
        Assert.NotEmpty(queried);
        foreach (var metric in queried)
            Assert.True(declared.Any(d => metric == d || metric.StartsWith(d + "_")), $"the dashboard queries {metric}, which the server does not export");
    }
}
