using System.Runtime.CompilerServices;
using DesMoe.Onnx.Generation;
using DesMoe.Server.DomainInference;
using DesMoe.Server.Engine;
using DesMoe.Server.OpenAi.Wire;
using DesMoe.Server.Requests;
using DesMoe.Server.Telemetry;
using DesMoe.Server.Versions;
using Grpc.Core;

namespace DesMoe.Server.OpenAi;

/// <summary>
/// One HTTP generation on its way through the shared engine: the validated request, the domain it was resolved to,
/// the leased version, and the engine's steps, already started so that a full queue (429) or a stopping engine (503)
/// is answered before any response header goes out.
/// </summary>
internal sealed class GenerationCall : IAsyncDisposable
{
    private readonly IAsyncEnumerator<GenerationStep> _steps;
    private readonly ModelLease _lease;
    private bool _pending;

    private GenerationCall(ModelLease lease, GenerationRequest request, DomainChoice choice, IAsyncEnumerator<GenerationStep> steps, bool pending,
        RequestMetrics metrics)
    {
        (_lease, Request, Choice, _steps, _pending, Metrics) = (lease, request, choice, steps, pending, metrics);
    }

    public GenerationRequest Request { get; }
    public DomainChoice Choice { get; }
    public RequestMetrics Metrics { get; }
    public string Version => _lease.Version.Id;
    public DesMoeBody DesMoe => new(Version, Choice.Domain, Choice.Inferred, Choice.Confidence);

    /// <summary>Validates, resolves the domain and admits the request; the lease passes to the call (disposed with it).</summary>
    /// <exception cref="OpenAiException">400 / 404 for the request, 429 when the batch and queue are full, 503 while stopping</exception>
    public static async Task<GenerationCall> StartAsync(ModelLease lease, RequestInput input, FieldNames names, RequestValidator validator,
        Options.ServerOptions options, RequestMetrics metrics, CancellationToken cancellation)
    {
        GenerationRequest validated;
        try
        {
            validated = validator.Validate(input, lease.Engine, names);
        }
        catch (RequestRejectedException e)
        {
            throw e.Kind == Rejection.NotFound ? OpenAiException.NotFound(e.Param, e.Message) : OpenAiException.Invalid(e.Param, e.Message);
        }
        var (request, choice) = DomainResolution.Resolve(validated, input.Domain, lease.Engine, options);
        metrics.RoutedBy(choice.Domain);
        var steps = lease.Engine.GenerateAsync(request, cancellation).GetAsyncEnumerator(cancellation);
        try
        {
            bool pending = await steps.MoveNextAsync();
            return new GenerationCall(lease, request, choice, steps, pending, metrics);
        }
        catch (Exception e)
        {
            await steps.DisposeAsync();
            throw e switch
            {
                EngineOverloadedException => OpenAiException.Overloaded(e.Message),
                EngineStoppedException => OpenAiException.Unavailable(e.Message),
                _ => e,
            };
        }
    }

    /// <summary>The engine's steps, each counted as a token in the metrics (the end-of-text step is not a token).</summary>
    public async IAsyncEnumerable<GenerationStep> Steps([EnumeratorCancellation] CancellationToken cancellation = default)
    {
        while (_pending)
        {
            var step = _steps.Current;
            if (step.IsCompletionToken) Metrics.Token();
            yield return step;
            if (step.Finish is not null) yield break;
            cancellation.ThrowIfCancellationRequested();
            _pending = await _steps.MoveNextAsync();
        }
    }

    /// <summary>OpenAI's finish_reason: <c>stop</c> for the end of text and for a stop sequence, <c>length</c> for the budget.</summary>
    public static string FinishReasonOf(FinishReason finish) => finish == FinishReason.Length ? "length" : "stop";

    /// <summary>Records how the call ended: OK, or the status a failure maps to.</summary>
    public void Finish(Exception? error) => Metrics.Finish(error switch
    {
        null => StatusCode.OK,
        OperationCanceledException => StatusCode.Cancelled,
        _ => StatusCode.Internal,
    });

    public async ValueTask DisposeAsync()
    {
        await _steps.DisposeAsync();
        _lease.Dispose();
    }
}
