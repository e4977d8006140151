using System.Threading.Channels;
using DesMoe.Server.Engine.Runner;

namespace DesMoe.Server.Engine.Scheduling;

/// <summary>
/// Continuous batching's decisions, apart from their execution (vLLM's split): between decode steps it admits waiting
/// requests up to the batch size (prefilled together), drops cancelled ones, and then has the runner decode one token
/// for every running sequence, whatever their domains and lengths. Row i of the batch is <c>running[i]</c> and the
/// runner's KV row i: a leaving sequence's row is taken by the last one, in both.
/// </summary>
internal sealed class BatchScheduler(OnnxModelRunner runner, int maxBatch, ChannelReader<Sequence> waiting, ILogger logger)
{
    private readonly List<Sequence> _running = [];
    private long _kvCacheBytes;

    /// <summary>Sequences in the running batch (for metrics and tests).</summary>
    public int Running => Volatile.Read(ref _runningCount);

    private int _runningCount;

    public long KvCacheBytes => Interlocked.Read(ref _kvCacheBytes);

    /// <summary>
    /// The decode loop, on the engine's own thread for its whole life: it blocks that thread while there is nothing to
    /// decode instead of awaiting. Awaiting moved the loop onto a thread-pool worker, which it then held for as long as
    /// the batch ran, leaving the pool one worker fewer for Kestrel, the response writes and the continuations that
    /// deliver each token (on 2 cores: one of two).
    /// </summary>
    public void Run(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                if (_running.Count == 0 && !waiting.WaitToReadAsync(stop).AsTask().GetAwaiter().GetResult()) break;
                Admit();
                DropCancelled();
                if (_running.Count > 0) Decode();
                else runner.FlushUtilization();
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                logger.LogError(e, "Decode step failed; failing the {Count} sequences in the batch", _running.Count);
                foreach (var s in _running) s.Complete(e);
                _running.Clear();
                runner.Clear();
            }
            Volatile.Write(ref _runningCount, _running.Count);
            Interlocked.Exchange(ref _kvCacheBytes, runner.KvCacheBytes);
        }
        runner.FlushUtilization();
        foreach (var s in _running) s.Complete(new EngineStoppedException());
        while (waiting.TryRead(out var left)) left.Complete(new EngineStoppedException());
    }

    /// <summary>Takes waiting requests into free rows and prefills them; a failed prefill fails only the admitted ones.</summary>
    private void Admit()
    {
        var admitted = new List<Sequence>();
        while (_running.Count + admitted.Count < maxBatch && waiting.TryRead(out var next))
        {
            if (next.Cancellation.IsCancellationRequested) next.Complete(new OperationCanceledException(next.Cancellation));
            else admitted.Add(next);
        }
        if (admitted.Count == 0) return;
        try
        {
            _running.AddRange(runner.Prefill(admitted));
        }
        catch (Exception e)
        {
            logger.LogError(e, "Prefill failed; the admitted requests failed, the running batch goes on");
        }
    }

    private void DropCancelled()
    {
        for (int row = _running.Count - 1; row >= 0; row--)
        {
            var s = _running[row];
            if (!s.Cancellation.IsCancellationRequested) continue;
            s.Complete(new OperationCanceledException(s.Cancellation));
            Leave(row);
        }
    }

    private void Decode()
    {
        int b = _running.Count;
        Span<bool> goesOn = b <= 256 ? stackalloc bool[b] : new bool[b];
        runner.Decode(_running, goesOn);
        // Descending, so the last row that moves into a leaving row's place has been looked at already.
        for (int row = b - 1; row >= 0; row--)
            if (!goesOn[row]) Leave(row);
    }

    /// <summary>Removes row <paramref name="row"/> from the batch and the KV slots, moving the last row into its place in both.</summary>
    private void Leave(int row)
    {
        runner.RemoveRow(row);
        int last = _running.Count - 1;
        _running[row] = _running[last];
        _running.RemoveAt(last);
    }
}
