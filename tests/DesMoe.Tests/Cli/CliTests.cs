using System.Text.Json;
using DesMoe.Formats.Data;
using DesMoe.Protos.V1;
using DesMoe.Tests.Server;
using DesMoe.Tests.Support;
using Xunit;

namespace DesMoe.Tests.Cli;

/// <summary>The desmoe CLI end to end against a real server: what users and operators type.</summary>
public sealed class CliTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private Task<CliRunner.Result> Run(params string[] args) => CliRunner.RunAsync(server.Address, LoopbackServer.AdminToken, args);

    private Task<CliRunner.Result> Bench(params string[] args) => CliRunner.BenchAsync(server.Address, LoopbackServer.AdminToken, args);

    [Fact]
    public async Task Generate_streams_the_servers_completion_and_json_prints_one_object_per_chunk()
    {
        var expected = (await server.Client.GenerateAsync(new GenerateRequest { Text = "reverse hello" })).Text;
        var text = await Run("generate", "reverse hello");
        Assert.Equal(0, text.ExitCode);
        Assert.Equal(expected, text.Output.TrimEnd('\n'));
        Assert.Contains("EndOfText", text.Error);

        var json = await Run("generate", "copy abc", "--json", "--max-new-tokens", "3", "--temperature", "0.8", "--seed", "5");
        Assert.Equal(0, json.ExitCode);
        var chunks = json.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.True(chunks[^1].TryGetProperty("finishReason", out _));
    }

    [Fact]
    public async Task Bench_load_samples_when_asked_and_refuses_filters_without_a_temperature()
    {
        var sampled = await Bench("load", "--clients", "2", "--duration", "1", "--warm-up", "0", "--max-new-tokens", "8",
            "--temperature", "0.9", "--top-k", "10");
        Assert.Equal(0, sampled.ExitCode);
        Assert.Contains("sampled at temperature 0.9, top-k 10", sampled.Output);
        Assert.Matches(@"(?m)^\s+grpc\s+2\s+[1-9]\d*\s+0\s", sampled.Output); // the 2-client row: requests done, none failed

        var filterAlone = await Bench("load", "--top-k", "5");
        Assert.Equal(1, filterAlone.ExitCode);
        Assert.Contains("--temperature", filterAlone.Error);
    }

    [Fact]
    public async Task Bench_load_drives_grpc_and_the_http_api_in_one_run_and_compares_them()
    {
        var both = await Bench("load", "--protocol", "grpc,http", "--http-address", server.Server.HttpAddress, "--clients", "2", "--duration", "1",
            "--warm-up", "0", "--max-new-tokens", "8");
        Assert.True(both.ExitCode == 0, both.Output + both.Error);
        Assert.Matches(@"(?m)^\s+grpc\s+2\s+[1-9]\d*\s+0\s", both.Output);
        Assert.Matches(@"(?m)^\s+http\s+2\s+[1-9]\d*\s+0\s", both.Output);
        Assert.Matches(@"http / grpc at 2 clients: \d+\.\d\dx tokens/s", both.Output);

        var unknown = await Bench("load", "--protocol", "websocket");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("--protocol", unknown.Error);
    }

    [Fact]
    public async Task Errors_print_one_line_and_exit_non_zero()
    {
        var unknown = await Run("generate", "1+1=", "--domain", "poetry");
        Assert.Equal(1, unknown.ExitCode);
        Assert.StartsWith("error: NotFound: unknown domain 'poetry'", unknown.Error.Trim());
        Assert.Single(unknown.Error.Trim().Split('\n'));

        var unreachable = await CliRunner.RunAsync("http://127.0.0.1:9", null, "domains");
        Assert.Equal(1, unreachable.ExitCode);
        Assert.StartsWith("error: server unavailable", unreachable.Error.Trim());

        var unauthenticated = await CliRunner.RunAsync(server.Address, null, "rollback");
        Assert.Equal(1, unauthenticated.ExitCode);
        Assert.StartsWith("error: unauthenticated", unauthenticated.Error.Trim());

        using var files = new TempDirectory();
        Jsonl.Write(files.File("law.jsonl"), DatasetSplit.Create(DomainCatalog.Get("law"), 2000, 0, seed: 2).Train);
        var upload = await CliRunner.RunAsync(server.Address, null, "add-domain", "--name", "law", "--data", files.File("law.jsonl"));
        Assert.Equal(1, upload.ExitCode);
        Assert.StartsWith("error: unauthenticated: AddDomain needs the admin credential", upload.Error.Trim());
    }

    [Fact]
    public async Task Operators_add_a_domain_watch_it_list_versions_and_roll_back()
    {
        using var files = new TempDirectory();
        var split = DatasetSplit.Create(DomainCatalog.Get("intent"), 600, 40, seed: 8);
        Jsonl.Write(files.File("intent.jsonl"), split.Train);
        Jsonl.Write(files.File("intent.eval.jsonl"), split.Eval);

        var add = await Run("add-domain", "--name", "intent", "--data", files.File("intent.jsonl"), "--eval", files.File("intent.eval.jsonl"), "--steps", "150", "--watch");
        Assert.True(add.ExitCode == 0, add.Output + add.Error);
        Assert.Contains("queued", add.Output);
        Assert.Contains("succeeded: v0002 is in service", add.Output);
        Assert.Matches(@"general\s+\d+\.\d %\s+\d+\.\d %", add.Output);
        Assert.Contains("gate (max drop 10.0 %): passed", add.Output);

        Assert.Contains("intent", (await Run("domains")).Output);
        var jobs = await Run("jobs");
        Assert.Contains("intent", jobs.Output);
        Assert.Contains("succeeded", jobs.Output);
        var versions = await Run("versions");
        Assert.Contains("* v0002", versions.Output);
        Assert.Contains("  v0001", versions.Output);

        var rollback = await Run("rollback");
        Assert.Equal(0, rollback.ExitCode);
        Assert.Contains("serving v0001", rollback.Output);
        Assert.Contains("(no domains", (await Run("domains")).Output);
        Assert.Contains("version            v0001", (await Run("model", "info")).Output);
        Assert.Equal("serving", (await Run("health")).Output.Trim());
    }
}
