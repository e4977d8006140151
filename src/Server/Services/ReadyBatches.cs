using System.Runtime.CompilerServices;

namespace DesMoe.Server.Services;

/// <summary>
/// Groups what an async stream already holds: each batch is the next item plus every item that is ready after it
/// (up to a limit), without waiting for more. A streaming response that writes one message per batch sends one token
/// per message while it keeps up with the engine and several once it falls behind (a slow client, or the cores busy
/// decoding), so writing responses cannot hold the decode loop back to one message per token per stream.
/// </summary>
public static class ReadyBatches
{
    public static async IAsyncEnumerable<IReadOnlyList<T>> Of<T>(IAsyncEnumerable<T> source, int max,
        [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        await using var items = source.GetAsyncEnumerator(cancellation);
        var next = items.MoveNextAsync();
        while (await next)
        {
            var batch = new List<T> { items.Current };
            while (true)
            {
                next = items.MoveNextAsync();
                // Only an item already there joins; a pending or failed one is awaited (its error thrown) after this batch.
                if (batch.Count >= max || !next.IsCompletedSuccessfully) break;
                if (!next.Result)
                {
                    yield return batch;
                    yield break;
                }
                batch.Add(items.Current);
            }
            yield return batch;
        }
    }
}
