using DesMoe.Formats.Data;
using DesMoe.Protos.V1;
using DesMoe.Tests.Support;
using Xunit;

namespace DesMoe.Tests.Server;

/// <summary>
/// The regression gate on the bundled base model (models/base-v2), which carries its own general probes (eval/). On the
/// string-skills general set it used before, which base-v2 knows at 5%, the gate could not trip there.
/// </summary>
public class GeneralProbeGateTests
{
    [Fact]
    public async Task On_the_bundled_base_model_a_job_that_costs_general_text_more_than_allowed_is_refused_and_the_served_version_stays()
    {
        using var data = new TempDirectory();
        var split = DatasetSplit.Create(DomainCatalog.Get("intent"), 200, 40, seed: 3);
        // Taking intent's experts costs base-v2's English probes 1.3 to 2.1 points of next-token accuracy
        // (docs/online-adaptation.md): under the default limit of 5 such a job is served; with a limit of 1 it is not.
        await using var server = await LoopbackServer.StartAsync(data.Path, LoopbackServer.BundledBaseModel,
            "--DesMoe:Adaptation:GeneralEvalExamples=20", "--DesMoe:Adaptation:MaxAllowedTextDrop=0.01");
        const string prompt = "the old house";
        var answerBefore = await server.Client.GenerateAsync(new GenerateRequest { Text = prompt, MaxNewTokens = 16 });

        var job = await server.Admin.AddDomainAsync("intent", split.Train, split.Eval, steps: 20);
        var done = (await server.Admin.WatchToEndAsync(job.Id, TimeSpan.FromMinutes(6)))[^1];

        Assert.True(done.State == JobState.Rejected, $"job ended {done.State}: {done.Message}");
        Assert.False(done.Evaluation.Passed);
        Assert.Contains("eval/ probes (text:gcide 100, text:moby-dick 100, text:sotu 100, text:wordnet 100", done.Evaluation.GeneralSet);
        Assert.Equal(0.01, done.Evaluation.MaxAllowedTextDrop, 9);
        var scores = done.Evaluation.Scores.ToDictionary(s => s.Name);
        Assert.DoesNotContain("general", scores.Keys); // the string-skills set is not what this model is judged on
        var text = scores.Values.Where(s => s.Name.StartsWith("general/text:", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, text.Count);
        var over = text.Where(s => s.Before - s.After > 0.01).ToList();
        Assert.NotEmpty(over);
        Assert.All(over, s => Assert.Contains($"{s.Name} {s.Before:P1} -> {s.After:P1}", done.Message));
        Assert.Contains("v0001 stays in service", done.Message);

        var info = await server.Client.GetModelInfoAsync(new GetModelInfoRequest());
        Assert.Equal("v0001", info.ModelVersion);
        Assert.Equal(["v0001"], (await server.Admin.ListModelVersionsAsync(new ListModelVersionsRequest())).Versions.Select(v => v.Id));
        Assert.Empty((await server.Client.ListDomainsAsync(new ListDomainsRequest())).Domains);
        var answerAfter = await server.Client.GenerateAsync(new GenerateRequest { Text = prompt, MaxNewTokens = 16 });
        Assert.Equal(answerBefore.TokenIds, answerAfter.TokenIds);
        Assert.Equal("v0001", answerAfter.ModelVersion);
    }
}
