using System.Text;
using DesMoe.Protos.V1;
using DesMoe.Server.Engine;
using DesMoe.Server.Options;
using Grpc.Core;
using DesMoe.Core.Generation;
using CoreFinish = DesMoe.Core.Generation.FinishReason;

namespace DesMoe.Server.Services;

public sealed class InferenceService(IGenerationEngine engine, RequestValidator validator, ServerOptions options) : Inference.InferenceBase
{
    public override async Task<GenerateResponse> Generate(GenerateRequest request, ServerCallContext context)
    {
        var validated = validator.Validate(request);
        var response = new GenerateResponse { ModelVersion = engine.ModelVersion };
        var text = new StringBuilder();
        await foreach (var step in Steps(validated, context))
        {
            text.Append(step.TextDelta);
            if (step.Finish is { } finish)
            {
                response.FinishReason = ToWire(finish);
                if (finish != CoreFinish.EndOfText) response.TokenIds.Add(step.Token);
            }
            else
            {
                response.TokenIds.Add(step.Token);
            }
        }
        response.Text = text.ToString();
        response.Usage = new Usage { PromptTokens = (uint)validated.PromptTokens.Count, CompletionTokens = (uint)response.TokenIds.Count };
        return response;
    }

    public override async Task GenerateStream(GenerateRequest request, IServerStreamWriter<GenerateChunk> responseStream, ServerCallContext context)
    {
        var validated = validator.Validate(request);
        uint completionTokens = 0;
        await foreach (var step in Steps(validated, context))
        {
            var chunk = new GenerateChunk { Text = step.TextDelta };
            if (step.Finish != CoreFinish.EndOfText)
            {
                chunk.TokenIds.Add(step.Token);
                completionTokens++;
            }
            if (step.Finish is { } finish)
            {
                chunk.FinishReason = ToWire(finish);
                chunk.Usage = new Usage { PromptTokens = (uint)validated.PromptTokens.Count, CompletionTokens = completionTokens };
            }
            await responseStream.WriteAsync(chunk, context.CancellationToken);
        }
    }

    /// <summary>The engine's steps, with a full queue reported as RESOURCE_EXHAUSTED.</summary>
    private async IAsyncEnumerable<GenerationStep> Steps(GenerationRequest request, ServerCallContext context)
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
        var response = new ListDomainsResponse();
        response.Domains.AddRange(engine.Domains.Select((name, id) => new Domain { Name = name, Id = id }));
        return Task.FromResult(response);
    }

    public override Task<ModelInfo> GetModelInfo(GetModelInfoRequest request, ServerCallContext context) =>
        Task.FromResult(new ModelInfo
        {
            ModelPath = engine.ModelPath,
            ModelVersion = engine.ModelVersion,
            ExecutionProvider = engine.ExecutionProvider,
            ConfigJson = engine.Config.ToJson(),
            Tokenizer = engine.Tokenizer.Name,
            MaxContextTokens = (uint)engine.Config.MaxPositions,
            Parameters = (ulong)engine.ParameterCount,
            MaxNewTokensLimit = (uint)options.MaxNewTokensLimit,
        });

    private static DesMoe.Protos.V1.FinishReason ToWire(CoreFinish finish) => finish switch
    {
        CoreFinish.EndOfText => DesMoe.Protos.V1.FinishReason.EndOfText,
        CoreFinish.Length => DesMoe.Protos.V1.FinishReason.Length,
        CoreFinish.StopSequence => DesMoe.Protos.V1.FinishReason.StopSequence,
        _ => DesMoe.Protos.V1.FinishReason.Unspecified,
    };
}
