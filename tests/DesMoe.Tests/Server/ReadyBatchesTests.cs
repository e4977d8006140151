using System.Threading.Channels;
using DesMoe.Server.Services;
using Xunit;

namespace DesMoe.Tests.Server;

/// <summary>How a stream's writer groups the engine's steps: what is ready goes together, nothing waits for more.</summary>
public sealed class ReadyBatchesTests
{
    [Fact]
    public async Task Items_already_there_go_in_one_batch_and_a_later_one_in_its_own()
    {
        var channel = Channel.CreateUnbounded<int>();
        foreach (var i in new[] { 1, 2, 3 }) channel.Writer.TryWrite(i);
        await using var batches = ReadyBatches.Of(channel.Reader.ReadAllAsync(), max: 10).GetAsyncEnumerator();

        Assert.True(await batches.MoveNextAsync());
        Assert.Equal([1, 2, 3], batches.Current);

        var waiting = batches.MoveNextAsync();
        Assert.False(waiting.IsCompleted); // nothing ready: the next batch waits for the next item, not for a full batch
        channel.Writer.TryWrite(4);
        Assert.True(await waiting);
        Assert.Equal([4], batches.Current);

        channel.Writer.TryWrite(5);
        channel.Writer.Complete();
        Assert.True(await batches.MoveNextAsync());
        Assert.Equal([5], batches.Current);
        Assert.False(await batches.MoveNextAsync());
    }

    [Fact]
    public async Task A_batch_holds_at_most_max_items_and_the_rest_follow_in_order()
    {
        var channel = Channel.CreateUnbounded<int>();
        for (int i = 0; i < 7; i++) channel.Writer.TryWrite(i);
        channel.Writer.Complete();

        var batches = new List<IReadOnlyList<int>>();
        await foreach (var batch in ReadyBatches.Of(channel.Reader.ReadAllAsync(), max: 3)) batches.Add(batch);

        Assert.Equal([3, 3, 1], batches.Select(b => b.Count));
        Assert.Equal(Enumerable.Range(0, 7), batches.SelectMany(b => b));
    }

    [Fact]
    public async Task Items_before_a_failure_are_delivered_before_the_error()
    {
        var channel = Channel.CreateUnbounded<int>();
        channel.Writer.TryWrite(1);
        channel.Writer.TryWrite(2);
        channel.Writer.Complete(new InvalidOperationException("engine failed"));
        await using var batches = ReadyBatches.Of(channel.Reader.ReadAllAsync(), max: 10).GetAsyncEnumerator();

        Assert.True(await batches.MoveNextAsync());
        Assert.Equal([1, 2], batches.Current);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await batches.MoveNextAsync());
        Assert.Equal("engine failed", error.Message);
    }

    [Fact]
    public void A_limit_below_one_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ReadyBatches.Of(AsyncEnumerable.Empty<int>(), max: 0).GetAsyncEnumerator().MoveNextAsync().AsTask().GetAwaiter().GetResult());
}
