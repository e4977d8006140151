using DesMoe.Formats.Experts;
using System.Text;
using DesMoe.Protos.V1;
using DesMoe.Server.Engine;
using DesMoe.Server.Options;
using DesMoe.Server.DomainInference;
using DesMoe.Server.Versions;
using DesMoe.Server.Requests;
using DesMoe.Server.Telemetry;
using Grpc.Core;
using DesMoe.Onnx.Generation;
using CoreFinish = DesMoe.Onnx.Generation.FinishReason;

namespace DesMoe.Server.Services;

[BindServiceMethod(typeof(ParseErrorBinding), nameof(ParseErrorBinding.BindInference))]
public sealed class InferenceService(ModelHost host, RequestValidator validator, ServerOptions options)
    : Inference.InferenceBase
{
    /// <summary>Most tokens one stream message carries when the writes fall behind the engine.</summary>
    private const int MaxTokensPerChunk = 256;

    public override async Task<GenerateResponse> Generate(GenerateRequest request, ServerCallContext context)
    {
        var metrics = RequestMetrics.Of(context);
        using var lease = host.Acquire();
        var (validated, choice) = DomainResolution.Resolve(validator.Validate(request, lease.Engine), request.Domain, lease.Engine, options);
        metrics.RoutedBy(choice.Domain);
        var response = new GenerateResponse
        {
            ModelVersion = lease.Version.Id, Domain = choice.Domain ?? "", DomainInferred = choice.Inferred,
            DomainConfidence = choice.Confidence, DomainCandidate = choice.Candidate ?? "",
        };
        var text = new StringBuilder();
        await foreach (var step in Steps(lease.Engine, validated, context))
        {
            text.Append(step.TextDelta);
            if (step.Finish is { } finish) response.FinishReason = ToWire(finish);
            if (!step.IsCompletionToken) continue;
            response.TokenIds.Add(step.Token);
            metrics.Token();
        }
        response.Text = text.ToString();
        response.Usage = new Usage { PromptTokens = (uint)validated.PromptTokens.Count, CompletionTokens = (uint)response.TokenIds.Count };
        return response;
    }

    public override async Task GenerateStream(GenerateRequest request, IServerStreamWriter<GenerateChunk> responseStream, ServerCallContext context)
    {
        var metrics = RequestMetrics.Of(context);
        using var lease = host.Acquire();
        var (validated, choice) = DomainResolution.Resolve(validator.Validate(request, lease.Engine), request.Domain, lease.Engine, options);
        metrics.RoutedBy(choice.Domain);
        uint completionTokens = 0;
        bool first = true;
        // One message carries every step decoded since the last write: one token while the writes keep up.
        await foreach (var steps in ReadyBatches.Of(Steps(lease.Engine, validated, context), MaxTokensPerChunk, context.CancellationToken))
        {
            var chunk = new GenerateChunk { Text = steps.Count == 1 ? steps[0].TextDelta : string.Concat(steps.Select(s => s.TextDelta)) };
            if (first)
            {
                (chunk.Domain, chunk.DomainInferred, chunk.DomainConfidence, chunk.DomainCandidate) =
                    (choice.Domain ?? "", choice.Inferred, choice.Confidence, choice.Candidate ?? "");
                first = false;
            }
            foreach (var step in steps)
            {
                if (!step.IsCompletionToken) continue;
                chunk.TokenIds.Add(step.Token);
                completionTokens++;
                metrics.Token();
            }
            if (steps[^1].Finish is { } finish)
            {
                chunk.FinishReason = ToWire(finish);
                chunk.Usage = new Usage { PromptTokens = (uint)validated.PromptTokens.Count, CompletionTokens = completionTokens };
            }
            await responseStream.WriteAsync(chunk, context.CancellationToken);
        }
    }

    /// <summary>The engine's steps, with a full queue reported as RESOURCE_EXHAUSTED and a stopping engine as UNAVAILABLE.</summary>
    private static async IAsyncEnumerable<GenerationStep> Steps(IGenerationEngine engine, GenerationRequest request, ServerCallContext context)
    {
        var steps = engine.GenerateAsync(request, context.CancellationToken).GetAsyncEnumerator(context.CancellationToken);
        try
        {
            while (true)
            {
                try
                {
                    if (!await steps.MoveNextAsync()) yield break;
                }
                catch (EngineOverloadedException e)
                {
                    throw new RpcException(new Status(StatusCode.ResourceExhausted, e.Message));
                }
                catch (EngineStoppedException e)
                {
                    throw new RpcException(new Status(StatusCode.Unavailable, e.Message));
                }
                yield return steps.Current;
            }
        }
        finally
        {
            await steps.DisposeAsync();
        }
    }

    public override Task<ListDomainsResponse> ListDomains(ListDomainsRequest request, ServerCallContext context)
    {
        using var lease = host.Acquire();
        var response = new ListDomainsResponse();
        response.Domains.AddRange(DomainsOf(lease.Engine));
        return Task.FromResult(response);
    }

    /// <summary>The engine's domains with their sizes, from the assignment its export folder holds (none: sizes 0).</summary>
    private static IEnumerable<Domain> DomainsOf(IGenerationEngine engine)
    {
        var folder = Path.GetDirectoryName(engine.ModelPath);
        var assignment = folder is null ? null : ExpertAssignment.LoadFrom(folder, engine.Config);
        var sizes = assignment is null ? [] : DomainFootprint.Of(engine.Config, assignment).ToDictionary(f => f.Domain);
        return engine.Domains.Select((name, id) => new Domain
        {
            Name = name, Id = id,
            Parameters = (ulong)(sizes.TryGetValue(name, out var size) ? size.Parameters : 0),
            Bytes = (ulong)(sizes.TryGetValue(name, out var bytes) ? bytes.Bytes : 0),
        });
    }

    public override Task<ModelInfo> GetModelInfo(GetModelInfoRequest request, ServerCallContext context)
    {
        using var lease = host.Acquire();
        var engine = lease.Engine;
        var info = new ModelInfo
        {
            ModelPath = engine.ModelPath,
            ModelVersion = lease.Version.Id,
            ExecutionProvider = engine.ExecutionProvider,
            ConfigJson = engine.Config.ToJson(),
            Tokenizer = engine.Tokenizer.Name,
            MaxContextTokens = (uint)engine.ContextWindow,
            Parameters = (ulong)engine.ParameterCount,
            MaxNewTokensLimit = (uint)options.MaxNewTokensLimit,
        };
        info.Domains.AddRange(DomainsOf(engine));
        return Task.FromResult(info);
    }

    private static DesMoe.Protos.V1.FinishReason ToWire(CoreFinish finish) => finish switch
    {
        CoreFinish.EndOfText => DesMoe.Protos.V1.FinishReason.EndOfText,
        CoreFinish.Length => DesMoe.Protos.V1.FinishReason.Length,
        CoreFinish.StopSequence => DesMoe.Protos.V1.FinishReason.StopSequence,
        _ => DesMoe.Protos.V1.FinishReason.Unspecified,
    };
}
