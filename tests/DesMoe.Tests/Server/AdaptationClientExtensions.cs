using Example = DesMoe.Formats.Data.Example;
using AdaptationClient = DesMoe.Protos.V1.Adaptation.AdaptationClient;
using DesMoe.Protos.V1;
using Grpc.Core;

namespace DesMoe.Tests.Server;

/// <summary>Test helpers over the generated Adaptation client.</summary>
internal static class AdaptationClientExtensions
{
    public static async Task<Job> AddDomainAsync(this AdaptationClient client, string name, IEnumerable<Example> train,
        IEnumerable<Example>? eval = null, uint steps = 0, CallOptions? options = null)
    {
        using var call = client.AddDomain(options ?? LoopbackServer.AsAdmin());
        try
        {
            await call.RequestStream.WriteAsync(new AddDomainRequest { Header = new AddDomainHeader { Name = name, Budget = new TrainingBudget { Steps = steps } } });
            foreach (var chunk in train.Chunk(256))
                await call.RequestStream.WriteAsync(new AddDomainRequest { Train = Batch(chunk) });
            if (eval is not null)
                foreach (var chunk in eval.Chunk(256))
                    await call.RequestStream.WriteAsync(new AddDomainRequest { Eval = Batch(chunk) });
            await call.RequestStream.CompleteAsync();
        }
        catch (RpcException)
        {
            // The server refused the upload before reading all of it; the reason is the call's status, below.
        }
        return await call.ResponseAsync;
    }

    /// <summary>Every state the job reports until it finishes.</summary>
    public static async Task<List<Job>> WatchToEndAsync(this AdaptationClient client, string jobId, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        using var call = client.WatchJob(new JobRequest { JobId = jobId }, cancellationToken: cancel.Token);
        var seen = new List<Job>();
        await foreach (var job in call.ResponseStream.ReadAllAsync(cancel.Token)) seen.Add(job);
        return seen;
    }

    public static ExampleBatch Batch(IEnumerable<Example> examples)
    {
        var batch = new ExampleBatch();
        batch.Examples.AddRange(examples.Select(e => new Protos.V1.Example { Prompt = e.Prompt, Completion = e.Completion }));
        return batch;
    }
}
