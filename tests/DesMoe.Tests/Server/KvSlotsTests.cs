using DesMoe.Onnx;
using DesMoe.Server.KvCache;
using Xunit;

namespace DesMoe.Tests.Server;

/// <summary>
/// The resident KV slots without a model, over both kinds of buffer: one layer, two kv heads, head dim 1, a context
/// of 40. A step is simulated as the graph does it (present = past concatenated with the new position), and every
/// position carries a value naming its sequence, head and position, so a row that moved, widened or was compacted
/// can be checked exactly.
/// </summary>
public sealed class KvSlotsTests
{
    private const int KvHeads = 2, Context = 40;

    private static float Value(int sequence, int head, int position) => sequence * 1000 + head * 100 + position;

    /// <summary>The buffers the CPU provider serves from, and the native ones the CUDA path uses, over host memory.</summary>
    public static TheoryData<string> Memories => ["managed", "native"];

    private static KvSlots Slots(string memory, int rows = 3) => new(1, rows, KvHeads, Context, 1, 1,
        memory == "native" ? n => new NativeKvBuffer(HostKvMemory.Instance, n) : n => new HostKvBuffer(n));

    /// <summary>A one-row prefill present of <paramref name="length"/> positions, left-padded to <paramref name="width"/>.</summary>
    private static OnnxKvCache Prefill(int sequence, int length, int width)
    {
        var keys = new float[KvHeads * width];
        for (int h = 0; h < KvHeads; h++)
            for (int p = 0; p < length; p++) keys[h * width + width - length + p] = Value(sequence, h, p);
        return OnnxKvCache.FromArrays([keys], [keys.Select(k => -k).ToArray()], 1, KvHeads, width, 1);
    }

    private static void Join(KvSlots slots, int sequence, int length, int paddedTo)
    {
        using var present = Prefill(sequence, length, paddedTo);
        slots.Reserve(length);
        slots.Add(present, 0, paddedTo, length);
    }

    /// <summary>One step: present = concat(past, the next position of each row's sequence), as the exported graph computes it.</summary>
    private static void Step(KvSlots slots, params int[] sequenceOfRow)
    {
        slots.PrepareStep();
        int width = slots.Width;
        using (var kv = slots.Bind())
        {
            foreach (var (pastValue, presentValue, sign) in new[] { (kv.PastKeys[0], kv.PresentKeys[0], 1f), (kv.PastValues[0], kv.PresentValues[0], -1f) })
            {
                var past = pastValue.GetTensorDataAsSpan<float>();
                var present = presentValue.GetTensorMutableDataAsSpan<float>();
                for (int row = 0; row < slots.Rows; row++)
                    for (int h = 0; h < KvHeads; h++)
                    {
                        int from = (row * KvHeads + h) * width, to = (row * KvHeads + h) * (width + 1);
                        past.Slice(from, width).CopyTo(present.Slice(to));
                        present[to + width] = sign * Value(sequenceOfRow[row], h, slots.Length(row));
                    }
            }
        }
        slots.Advance();
    }

    private static void AssertRow(KvSlots slots, int row, int sequence, int length)
    {
        Assert.Equal(length, slots.Length(row));
        using var kv = slots.Bind();
        var keys = kv.PastKeys[0].GetTensorDataAsSpan<float>();
        var values = kv.PastValues[0].GetTensorDataAsSpan<float>();
        for (int h = 0; h < KvHeads; h++)
        {
            int start = (row * KvHeads + h) * slots.Width + slots.Width - length;
            Assert.Equal(Enumerable.Range(0, length).Select(p => Value(sequence, h, p)), keys.Slice(start, length).ToArray());
            Assert.Equal(Enumerable.Range(0, length).Select(p => -Value(sequence, h, p)), values.Slice(start, length).ToArray());
        }
    }

    [Theory]
    [MemberData(nameof(Memories))]
    public void Rows_keep_their_positions_through_steps_a_widening_join_and_a_leaving_row(string memory)
    {
        using var slots = Slots(memory);
        Join(slots, sequence: 1, length: 3, paddedTo: 3);
        Step(slots, 1);
        Join(slots, sequence: 2, length: 6, paddedTo: 8); // longer than the width 4: the batch widens
        Assert.Equal(6, slots.Width);
        Step(slots, 1, 2);
        Step(slots, 1, 2);
        AssertRow(slots, 0, sequence: 1, length: 6);
        AssertRow(slots, 1, sequence: 2, length: 8);

        Join(slots, sequence: 3, length: 2, paddedTo: 2);
        slots.RemoveAt(0); // the last row (sequence 3) takes row 0
        Assert.Equal(2, slots.Rows);
        AssertRow(slots, 0, sequence: 3, length: 2);
        AssertRow(slots, 1, sequence: 2, length: 8);
        Step(slots, 3, 2);
        AssertRow(slots, 0, sequence: 3, length: 3);
        AssertRow(slots, 1, sequence: 2, length: 9);
    }

    [Theory]
    [MemberData(nameof(Memories))]
    public void Padding_beyond_the_slack_and_a_present_past_the_context_are_compacted_away(string memory)
    {
        using var slots = Slots(memory);
        Join(slots, sequence: 1, length: 30, paddedTo: 30);
        Join(slots, sequence: 2, length: 3, paddedTo: 3);
        slots.RemoveAt(0);
        Step(slots, 2); // 27 padding positions > 16: re-laid out to the longest row first
        Assert.Equal(4, slots.Width);
        AssertRow(slots, 0, sequence: 2, length: 4);

        Join(slots, sequence: 3, length: 21, paddedTo: 21); // widens the batch; row 0 now has 17 padding positions
        for (int i = 0; i < 15; i++) Step(slots, 2, 3); // no compaction: the longest row fills the width
        Join(slots, sequence: 4, length: 5, paddedTo: 5);
        slots.RemoveAt(1); // sequence 4 takes row 1; the longest row is now 19 long at width 36
        Step(slots, 2, 4);
        Assert.Equal(20, slots.Width);
        AssertRow(slots, 0, sequence: 2, length: 20);
        AssertRow(slots, 1, sequence: 4, length: 6);

        for (int i = 0; i < 20; i++) Step(slots, 2, 4);
        AssertRow(slots, 0, sequence: 2, length: 40);
        var overflow = Assert.Throws<InvalidOperationException>(() => Step(slots, 2, 4));
        Assert.Contains("41 positions exceed the context of 40", overflow.Message);

        slots.RemoveAt(0); // sequence 4 (26 long) takes row 0: 14 padding positions, but a present of 41 would not fit
        Step(slots, 4);
        Assert.Equal(27, slots.Width);
        AssertRow(slots, 0, sequence: 4, length: 27);
    }

    [Theory]
    [MemberData(nameof(Memories))]
    public void Errors_name_the_bad_value(string memory)
    {
        using var slots = Slots(memory, rows: 1);
        Assert.Contains("context of 40", Assert.Throws<ArgumentOutOfRangeException>(() => slots.Reserve(40)).Message);
        Join(slots, sequence: 1, length: 3, paddedTo: 3);
        using var present = Prefill(2, 2, 2);
        Assert.Contains("all 1 KV slots", Assert.Throws<InvalidOperationException>(() => slots.Add(present, 0, 2, 2)).Message);
        Assert.Contains("1 rows", Assert.Throws<ArgumentOutOfRangeException>(() => slots.RemoveAt(1)).Message);
    }
}
