using System.Diagnostics;
using System.Threading.Channels;
using DesMoe.Formats.Tokenization;
using DesMoe.Onnx.Generation;
using DesMoe.Server.Telemetry;

namespace DesMoe.Server.Engine.Scheduling;

/// <summary>A request between admission and completion: its decoding state, its output channel and its spans.</summary>
internal sealed class Sequence
{
    private readonly GenerationSession _session;
    private readonly Channel<GenerationStep> _steps = Channel.CreateUnbounded<GenerationStep>(new UnboundedChannelOptions { SingleWriter = true, SingleReader = true });
    private int _generated;

    public Sequence(GenerationRequest request, int domainId, int contextWindow, ITextTokenizer tokenizer, CancellationToken cancellation)
    {
        Request = request;
        DomainId = domainId;
        Cancellation = cancellation;
        Parent = Activity.Current?.Context ?? default;
        Queued = ServerTelemetry.StartChild("desmoe.queue", Parent);
        int budget = Math.Min(request.MaxNewTokens, contextWindow - request.PromptTokens.Count);
        _session = new GenerationSession(tokenizer, request.Sampling, request.Seed, budget, request.Stops, request.IgnoreEndOfText);
    }

    public GenerationRequest Request { get; }
    public int DomainId { get; }
    public CancellationToken Cancellation { get; }
    public int LastToken { get; private set; }
    public ChannelReader<GenerationStep> Steps => _steps.Reader;

    /// <summary>The request's span, the parent of this sequence's queue, prefill and decode spans.</summary>
    public ActivityContext Parent { get; }
    public Activity? Queued { get; }
    public Activity? Decoding { get; set; }

    public bool IsGreedy => _session.IsGreedy;

    /// <returns>whether the sequence goes on</returns>
    public bool Emit(ReadOnlySpan<float> logits) => Publish(_session.Step(logits));

    /// <summary>A greedy step from the graph's likeliest tokens (see <see cref="GenerationSession.StepGreedy"/>).</summary>
    /// <returns>whether the sequence goes on</returns>
    public bool EmitGreedy(ReadOnlySpan<long> topTokens) => Publish(_session.StepGreedy(topTokens));

    private bool Publish(GenerationStep step)
    {
        LastToken = step.Token;
        _steps.Writer.TryWrite(step);
        _generated++;
        if (step.Finish is null) return true;
        _steps.Writer.TryComplete();
        EndSpans(null);
        return false;
    }

    public void Complete(Exception error)
    {
        _steps.Writer.TryComplete(error);
        EndSpans(error);
    }

    private void EndSpans(Exception? error)
    {
        Queued?.Dispose();
        if (Decoding is null) return;
        Decoding.SetTag("desmoe.completion_tokens", _generated);
        if (error is not null) Decoding.SetStatus(ActivityStatusCode.Error, error.Message);
        Decoding.Dispose();
    }
}
