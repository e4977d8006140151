using System.ClientModel;
using System.Net;
using DesMoe.Protos.V1;
using DesMoe.Server.Engine;
using DesMoe.Server.Versions;
using DesMoe.Tests.Server;
using DesMoe.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using OpenAI.Chat;
using Xunit;

namespace DesMoe.Tests.Http;

/// <summary>The HTTP API's keys, its share of the one batch and queue, hang-ups, and a model without a chat template.</summary>
public sealed class OpenAiAccessAndLimitsTests
{
    private const string Model = OpenAiApiFixture.Model;

    [Fact]
    public async Task With_keys_configured_a_request_needs_one_of_them()
    {
        using var data = new TempDirectory();
        File.WriteAllLines(data.File("keys"), ["# operators' keys", "key-from-file", ""]);
        await using var server = await LoopbackServer.StartAsync(data.Path, "--DesMoe:Http:ApiKeys:0=key-one", $"--DesMoe:Http:ApiKeyFile={data.File("keys")}");
        using var http = new HttpClient();

        var wrong = await Assert.ThrowsAsync<ClientResultException>(() => OpenAiApiFixture.Sdk(server.HttpAddress, "key-two").GetOpenAIModelClient().GetModelsAsync());
        Assert.Equal(401, wrong.Status);
        var missing = await http.GetAsync(server.HttpAddress + "/v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal("invalid_api_key", (await OpenAiApiFixture.JsonAsync(missing)).GetProperty("error").GetProperty("code").GetString());

        foreach (var key in (string[])["key-one", "key-from-file"])
            Assert.NotEmpty((await OpenAiApiFixture.Sdk(server.HttpAddress, key).GetOpenAIModelClient().GetModelsAsync()).Value);
        var completion = await OpenAiApiFixture.Post(http, server.HttpAddress, "/v1/completions", new { model = Model, prompt = "copy a", max_tokens = 2 }, "key-one");
        Assert.Equal(HttpStatusCode.OK, completion.StatusCode);
    }

    [Fact]
    public async Task Over_capacity_requests_get_429_and_the_others_finish()
    {
        using var data = new TempDirectory();
        File.WriteAllText(data.File("chat.jinja"), OpenAiApiFixture.JoiningTemplate);
        await using var server = await LoopbackServer.StartAsync(data.Path, "--DesMoe:MaxBatch=1", "--DesMoe:QueueSize=1",
            $"--DesMoe:Http:ChatTemplate={data.File("chat.jinja")}");
        using var http = new HttpClient();
        var raw = await Task.WhenAll(Enumerable.Range(0, 12).Select(async i =>
        {
            using var response = await OpenAiApiFixture.Post(http, server.HttpAddress, "/v1/completions",
                new { model = Model, prompt = "copy abc", max_tokens = 150, temperature = 1, seed = i });
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
                Assert.Equal("rate_limit_error", (await OpenAiApiFixture.JsonAsync(response)).GetProperty("error").GetProperty("type").GetString());
            return response.StatusCode;
        }));
        Assert.Contains(HttpStatusCode.TooManyRequests, raw);
        Assert.Contains(HttpStatusCode.OK, raw);
        Assert.All(raw, s => Assert.True(s is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, $"unexpected {s}"));

        var chat = OpenAiApiFixture.Sdk(server.HttpAddress).GetChatClient(Model);
        var sdk = await Task.WhenAll(Enumerable.Range(0, 12).Select(async i =>
        {
            try
            {
                await chat.CompleteChatAsync([new UserChatMessage("copy abc")], new ChatCompletionOptions { MaxOutputTokenCount = 150, Seed = i });
                return 200;
            }
            catch (ClientResultException e)
            {
                return e.Status;
            }
        }));
        Assert.Contains(429, sdk);
        Assert.All(sdk, s => Assert.True(s is 200 or 429, $"unexpected {s}"));
    }

    [Fact]
    public async Task A_client_that_hangs_up_mid_stream_frees_its_slot_at_once()
    {
        using var data = new TempDirectory();
        await using var server = await LoopbackServer.StartAsync(data.Path, "--DesMoe:MaxBatch=1", "--DesMoe:QueueSize=0");
        using var http = new HttpClient();
        var engine = () =>
        {
            using var lease = server.App.Services.GetRequiredService<ModelHost>().Acquire();
            return (OnnxBatchingEngine)lease.Engine;
        };

        var streaming = await OpenAiApiFixture.Post(http, server.HttpAddress, "/v1/completions",
            new { model = Model, prompt = "copy abc", max_tokens = 190, ignore_eos = true, temperature = 1.5, seed = 3, stream = true });
        Assert.Equal(HttpStatusCode.OK, streaming.StatusCode);
        var reader = new StreamReader(await streaming.Content.ReadAsStreamAsync());
        Assert.StartsWith("data: ", await reader.ReadLineAsync());
        streaming.Dispose();

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (engine().InFlight > 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Equal(0, engine().InFlight);
        var next = await OpenAiApiFixture.Post(http, server.HttpAddress, "/v1/completions", new { model = Model, prompt = "copy b", max_tokens = 2 });
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    [Fact]
    public async Task A_model_without_a_chat_template_answers_chat_with_400_and_completions_still_work()
    {
        using var data = new TempDirectory();
        await using var server = await LoopbackServer.StartAsync(data.Path);
        var chat = await Assert.ThrowsAsync<ClientResultException>(() =>
            OpenAiApiFixture.Sdk(server.HttpAddress).GetChatClient(Model).CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.True(chat.Status == 400, chat.Message);
        Assert.Contains("no chat template", chat.Message);

        using var http = new HttpClient();
        var completion = await OpenAiApiFixture.Post(http, server.HttpAddress, "/v1/completions", new { model = Model, prompt = "copy a", max_tokens = 2 });
        Assert.Equal(HttpStatusCode.OK, completion.StatusCode);
    }

    [Fact]
    public async Task A_domain_added_with_AddDomain_is_listed_and_answers_under_its_model_name_as_over_grpc()
    {
        using var data = new TempDirectory();
        await using var server = await LoopbackServer.StartAsync(data.Path);
        var split = DesMoe.Formats.Data.DatasetSplit.Create(DesMoe.Formats.Data.DomainCatalog.Get("intent"), 300, 20, seed: 6);
        var job = await server.Admin.AddDomainAsync("intent", split.Train, split.Eval, steps: 40);
        var done = (await server.Admin.WatchToEndAsync(job.Id, TimeSpan.FromMinutes(5)))[^1];
        Assert.True(done.State == JobState.Succeeded, $"{done.State}: {done.Message}");

        var models = (await OpenAiApiFixture.Sdk(server.HttpAddress).GetOpenAIModelClient().GetModelsAsync()).Value.Select(m => m.Id).ToList();
        Assert.Equal([Model, $"{Model}:intent", $"{Model}:none"], models);

        using var http = new HttpClient();
        var prompt = split.Eval[0].Prompt;
        var grpc = await server.Client.GenerateAsync(new GenerateRequest { Text = prompt, Domain = "intent", MaxNewTokens = 16 });
        var body = await OpenAiApiFixture.JsonAsync(await OpenAiApiFixture.Post(http, server.HttpAddress, "/v1/completions",
            new { model = $"{Model}:intent", prompt, max_tokens = 16, temperature = 0 }));
        Assert.Equal(grpc.Text, body.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.Equal("intent", body.GetProperty("desmoe").GetProperty("domain").GetString());
        Assert.Equal("v0002", body.GetProperty("desmoe").GetProperty("model_version").GetString());

        await server.Admin.RollbackAsync(new RollbackRequest(), LoopbackServer.AsAdmin());
        models = (await OpenAiApiFixture.Sdk(server.HttpAddress).GetOpenAIModelClient().GetModelsAsync()).Value.Select(m => m.Id).ToList();
        Assert.Equal([Model, $"{Model}:none"], models);
    }
}
