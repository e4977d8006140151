using Example = DesMoe.Formats.Data.Example;
using System.Collections.Concurrent;
using DesMoe.Formats.Data;
using DesMoe.Protos.V1;
using Grpc.Core;
using Xunit;

namespace DesMoe.Tests.Server;

/// <summary>A server over the bundled model whose jobs evaluate a smaller general set, to keep the suite quick.</summary>
public sealed class AdaptationServerFixture : ServerFixture
{
    protected override string[] ExtraArguments => ["--DesMoe:Adaptation:GeneralEvalExamples=150"];
}

public sealed class AdaptationServerTests(AdaptationServerFixture server) : IClassFixture<AdaptationServerFixture>
{
    private static readonly string[] Prompts = ["copy hello", "reverse abcde", "upper moe", "sort 93142", "length abcdefg", "last router"];

    [Fact]
    public async Task A_domain_added_under_load_is_served_without_failed_requests_and_rollback_restores_the_outputs()
    {
        var baseline = await GreedyAsync(Prompts);
        var split = DatasetSplit.Create(DomainCatalog.Get("intent"), 1200, 60, seed: 5);

        using var stopLoad = new CancellationTokenSource();
        var failures = new ConcurrentBag<string>();
        var versionsSeen = new ConcurrentDictionary<string, int>();
        var load = Enumerable.Range(0, 3).Select(client => Task.Run(async () =>
        {
            for (int n = 0; !stopLoad.IsCancellationRequested; n++)
            {
                try
                {
                    var r = await server.Client.GenerateAsync(new GenerateRequest { Text = Prompts[(client + n) % Prompts.Length], MaxNewTokens = 24 });
                    versionsSeen.AddOrUpdate(r.ModelVersion, 1, (_, c) => c + 1);
                }
                catch (RpcException e)
                {
                    failures.Add(e.Status.ToString());
                }
            }
        })).ToList();

        var job = await server.Admin.AddDomainAsync("intent", split.Train, split.Eval, steps: 300);
        Assert.Equal(JobState.Queued, job.State);
        Assert.Equal("v0001", job.BaseVersion);
        var states = await server.Admin.WatchToEndAsync(job.Id, TimeSpan.FromMinutes(8));
        await Task.Delay(500); // requests on the new version
        stopLoad.Cancel();
        await Task.WhenAll(load);

        var done = states[^1];
        Assert.True(done.State == JobState.Succeeded, $"job ended {done.State}: {done.Message}");
        Assert.Contains(states, s => s.State == JobState.Training && s.Progress?.Step > 0);
        Assert.Empty(failures);
        Assert.Contains("v0001", versionsSeen.Keys);
        Assert.Contains("v0002", versionsSeen.Keys);
        Assert.Equal("v0002", done.ResultVersion);

        var scores = done.Evaluation.Scores.ToDictionary(s => s.Name);
        Assert.True(done.Evaluation.Passed);
        Assert.True(scores["intent"].After >= 0.5, $"intent accuracy {scores["intent"].After:P1}");
        Assert.False(scores["intent"].HasBefore);
        Assert.True(scores["general"].Before - scores["general"].After <= done.Evaluation.MaxAllowedDrop);
        // Checked on logits by the job, not assumed: the domain trains copies of experts, so the no-domain path is untouched.
        var general = done.Evaluation.UnchangedPaths.Single(c => c.Name == "general");
        Assert.True(general.BitIdentical && general.DifferingPrompts == 0 && general.Prompts > 0 && general.Logits > 0,
            $"no-domain path: {general.DifferingPrompts} of {general.Prompts} prompts changed");
        Assert.Equal(scores["general"].Before, scores["general"].After);

        var domains = await server.Client.ListDomainsAsync(new ListDomainsRequest());
        Assert.Equal(["intent"], domains.Domains.Select(d => d.Name));
        int correct = 0;
        foreach (var e in split.Eval.Take(20))
            if ((await server.Client.GenerateAsync(new GenerateRequest { Text = e.Prompt, Domain = "intent", MaxNewTokens = 24 })).Text == e.Completion) correct++;
        Assert.True(correct >= 8, $"the served intent domain answered {correct}/20");

        // A client that names no domain: the server infers it from the prompt's routing (prompts the reference set
        // does not hold: another seed), routes by it, and says so; general text stays on the plain router.
        int inferredRight = 0, correctUnlabelled = 0, correctLabelled = 0;
        foreach (var e in DatasetSplit.Generate(DomainCatalog.Get("intent"), 20, seed: 77))
        {
            var unlabelled = await server.Client.GenerateAsync(new GenerateRequest { Text = e.Prompt, MaxNewTokens = 24 });
            Assert.True(unlabelled.DomainInferred);
            if (unlabelled.Domain == "intent") inferredRight++;
            if (unlabelled.Text == e.Completion) correctUnlabelled++;
            if ((await server.Client.GenerateAsync(new GenerateRequest { Text = e.Prompt, Domain = "intent", MaxNewTokens = 24 })).Text == e.Completion) correctLabelled++;
        }
        Assert.True(inferredRight >= 16, $"intent inferred for {inferredRight}/20 unlabelled intent prompts");
        Assert.True(correctUnlabelled >= correctLabelled - 2, $"unlabelled {correctUnlabelled}/20 vs labelled {correctLabelled}/20");
        using (var http = new HttpClient())
        {
            var metrics = await http.GetStringAsync($"{server.Server.MetricsAddress}/metrics");
            Assert.Matches("desmoe_domain_inferences_total\\{[^}]*candidate=\"intent\"[^}]*routed=\"true\"", metrics);
            // requests are labelled by the domain they were served on: 20 + 20 named intent, at least 16 inferred
            var servedOnIntent = System.Text.RegularExpressions.Regex.Matches(metrics, "^desmoe_requests_total\\{(?<l>[^}]*)\\} (?<v>\\S+)", System.Text.RegularExpressions.RegexOptions.Multiline)
                .Where(m => m.Groups["l"].Value.Contains("domain=\"intent\"") && m.Groups["l"].Value.Contains("method=\"Generate\""))
                .Sum(m => double.Parse(m.Groups["v"].Value, System.Globalization.CultureInfo.InvariantCulture));
            Assert.True(servedOnIntent >= 40 + inferredRight, $"{servedOnIntent} Generate requests labelled intent");
        }
        // Prompts of built-in formats the server does not serve stand for general text, not for the nearest served domain.
        foreach (var format in new[] { "math", "law", "translation" })
            foreach (var e in DatasetSplit.Generate(DomainCatalog.Get(format), 10, seed: 77))
            {
                var other = await server.Client.GenerateAsync(new GenerateRequest { Text = e.Prompt, MaxNewTokens = 4 });
                Assert.True(other.Domain == "", $"a {format} prompt was routed to '{other.Domain}' ({other.DomainConfidence:P0}): {e.Prompt}");
            }
        var reversed = await server.Client.GenerateAsync(new GenerateRequest { Text = "reverse hello" });
        Assert.True(reversed.DomainInferred);
        Assert.Equal("", reversed.Domain);
        Assert.Equal("general", reversed.DomainCandidate);
        Assert.Equal("olleh", reversed.Text);
        var plain = await server.Client.GenerateAsync(new GenerateRequest { Text = "intent: how hot is paris now", Domain = "none" });
        Assert.False(plain.DomainInferred);
        Assert.Equal("", plain.Domain);

        var versions = await server.Admin.ListModelVersionsAsync(new ListModelVersionsRequest());
        Assert.Equal(["v0001", "v0002"], versions.Versions.Select(v => v.Id));
        Assert.True(versions.Versions[1].Serving);
        Assert.Equal(job.Id, versions.Versions[1].JobId);

        var rolledBack = await server.Admin.RollbackAsync(new RollbackRequest(), LoopbackServer.AsAdmin());
        Assert.Equal("v0001", rolledBack.Id);
        Assert.Empty((await server.Client.ListDomainsAsync(new ListDomainsRequest())).Domains);
        Assert.Equal(baseline, await GreedyAsync(Prompts));
        var gone = await Assert.ThrowsAsync<RpcException>(() => server.Client.GenerateAsync(new GenerateRequest { Text = "intent: hi", Domain = "intent" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, gone.StatusCode);

        Assert.Equal("v0002", (await server.Admin.RollbackAsync(new RollbackRequest { Version = "v0002" }, LoopbackServer.AsAdmin())).Id);
        Assert.Equal(["intent"], (await server.Client.ListDomainsAsync(new ListDomainsRequest())).Domains.Select(d => d.Name));
        var intentSize = (await server.Client.ListDomainsAsync(new ListDomainsRequest())).Domains.Single();
        Assert.Equal(4UL * 4 * 3 * 128 * 64, intentSize.Parameters); // top-k copies x MoE layers x (gate, up, down) x hidden x expert width
        Assert.Equal(intentSize.Parameters * 4, intentSize.Bytes);

        // RemoveDomain: a job like AddDomain's, gated on every remaining path's logits, versioned, swapped, rolled back.
        var removal = await server.Admin.RemoveDomainAsync(new RemoveDomainRequest { Name = "intent" }, LoopbackServer.AsAdmin());
        Assert.Equal(JobKind.RemoveDomain, removal.Kind);
        var removed = (await server.Admin.WatchToEndAsync(removal.Id, TimeSpan.FromMinutes(4)))[^1];
        Assert.True(removed.State == JobState.Succeeded, $"removal ended {removed.State}: {removed.Message}");
        Assert.Equal("v0003", removed.ResultVersion);
        Assert.True(removed.Evaluation.UnchangedPaths.Single(c => c.Name == "general").BitIdentical);
        Assert.Empty((await server.Client.ListDomainsAsync(new ListDomainsRequest())).Domains);
        Assert.Equal(baseline, await GreedyAsync(Prompts));
        Assert.Equal("v0002", (await server.Admin.RollbackAsync(new RollbackRequest(), LoopbackServer.AsAdmin())).Id);
        Assert.Equal(["intent"], (await server.Client.ListDomainsAsync(new ListDomainsRequest())).Domains.Select(d => d.Name));
        await server.Admin.RollbackAsync(new RollbackRequest { Version = "v0001" }, LoopbackServer.AsAdmin());
    }

    [Fact]
    public async Task A_cancelled_job_stops_and_leaves_the_served_model_alone()
    {
        var before = (await server.Client.GetModelInfoAsync(new GetModelInfoRequest())).ModelVersion;
        var split = DatasetSplit.Create(DomainCatalog.Get("summarization"), 200, 20, seed: 4);
        var job = await server.Admin.AddDomainAsync("summarization", split.Train, split.Eval, steps: 5000);
        using (var watch = server.Admin.WatchJob(new JobRequest { JobId = job.Id }))
            while (await watch.ResponseStream.MoveNext() && watch.ResponseStream.Current.State != JobState.Training) { }

        var cancelled = await server.Admin.CancelJobAsync(new JobRequest { JobId = job.Id }, LoopbackServer.AsAdmin());
        Assert.Equal(job.Id, cancelled.Id);
        var end = (await server.Admin.WatchToEndAsync(job.Id, TimeSpan.FromMinutes(1)))[^1];
        Assert.Equal(JobState.Cancelled, end.State);
        Assert.Contains("not changed", end.Message);
        Assert.Equal(before, (await server.Client.GetModelInfoAsync(new GetModelInfoRequest())).ModelVersion);
        Assert.DoesNotContain((await server.Client.ListDomainsAsync(new ListDomainsRequest())).Domains, d => d.Name == "summarization");
    }

    [Fact]
    public async Task Admin_rpcs_need_the_token()
    {
        var examples = DatasetSplit.Create(DomainCatalog.Get("law"), 40, 0, seed: 1).Train;
        var none = await Assert.ThrowsAsync<RpcException>(() => server.Admin.AddDomainAsync("law", examples, options: new CallOptions()));
        Assert.Equal(StatusCode.Unauthenticated, none.StatusCode);
        var wrong = new CallOptions(new Metadata { { "authorization", "Bearer not-the-token" } });
        var denied = await Assert.ThrowsAsync<RpcException>(() => server.Admin.AddDomainAsync("law", examples, options: wrong));
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, (await Assert.ThrowsAsync<RpcException>(() =>
            server.Admin.RollbackAsync(new RollbackRequest()).ResponseAsync)).StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, (await Assert.ThrowsAsync<RpcException>(() =>
            server.Admin.CancelJobAsync(new JobRequest { JobId = "x" }).ResponseAsync)).StatusCode);
        Assert.DoesNotContain((await server.Admin.ListJobsAsync(new ListJobsRequest())).Jobs, j => j.Domain == "law");
    }

    [Theory]
    [InlineData("Law", 40, StatusCode.InvalidArgument, "is invalid")]
    [InlineData("general", 40, StatusCode.InvalidArgument, "general set")]
    [InlineData("tiny", 5, StatusCode.InvalidArgument, "at least 16 are needed")]
    public async Task Bad_uploads_are_refused_with_the_reason(string name, int count, StatusCode status, string message)
    {
        var examples = DatasetSplit.Create(DomainCatalog.Get("law"), count, 0, seed: 1).Train;
        var error = await Assert.ThrowsAsync<RpcException>(() => server.Admin.AddDomainAsync(name, examples));
        Assert.Equal(status, error.StatusCode);
        Assert.Contains(message, error.Status.Detail);
    }

    [Fact]
    public async Task Examples_longer_than_the_context_and_server_paths_are_refused()
    {
        var tooLong = Enumerable.Repeat(new Example(new string('a', 300), "b"), 20);
        var error = await Assert.ThrowsAsync<RpcException>(() => server.Admin.AddDomainAsync("longs", tooLong));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("context is 160", error.Status.Detail);

        using var call = server.Admin.AddDomain(LoopbackServer.AsAdmin());
        await call.RequestStream.WriteAsync(new AddDomainRequest { Header = new AddDomainHeader { Name = "remote", ServerTrainPath = "/etc/passwd" } });
        await call.RequestStream.CompleteAsync();
        var denied = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);

        var missing = await Assert.ThrowsAsync<RpcException>(() => server.Admin.GetJobAsync(new JobRequest { JobId = "nope" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        var noVersion = await Assert.ThrowsAsync<RpcException>(() => server.Admin.RollbackAsync(new RollbackRequest { Version = "v0099" }, LoopbackServer.AsAdmin()).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, noVersion.StatusCode);
    }

    private async Task<List<string>> GreedyAsync(IEnumerable<string> prompts)
    {
        var texts = new List<string>();
        foreach (var p in prompts) texts.Add((await server.Client.GenerateAsync(new GenerateRequest { Text = p, MaxNewTokens = 24 })).Text);
        return texts;
    }
}
