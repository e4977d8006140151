using Microsoft.ML.OnnxRuntime;

namespace DesMoe.Core.Onnx;

/// <summary>One forward step's inputs, row-major: ids and positions [batch, sequence], mask [batch, past + sequence], domains [batch].</summary>
public sealed record OnnxStepInput(int Batch, int Sequence, long[] InputIds, long[] AttentionMask, long[] PositionIds, long[] DomainIds);

/// <summary>Logits [batch, sequence, vocab] of one step, the routed experts when the model reports them, and the extended KV cache; disposing frees all.</summary>
public sealed class OnnxStepOutput(IDisposableReadOnlyCollection<OrtValue> outputs, OnnxKvCache present, int batch, int sequence, int vocab,
    int routingLayers = 0) : IDisposable
{
    /// <summary>Whether <see cref="RouterExperts"/> is available (exports from before the routing outputs lack it).</summary>
    public bool HasRouting => routingLayers > 0;

    /// <summary>[batch * sequence, top_k] the experts MoE layer <paramref name="layer"/> routed each token to (after the logits and every decoder layer's present key and value).</summary>
    public ReadOnlySpan<long> RouterExperts(int layer) => outputs[1 + 2 * Present.NumLayers + layer].GetTensorDataAsSpan<long>();

    public OnnxKvCache Present { get; } = present;
    public int Batch { get; } = batch;
    public int Sequence { get; } = sequence;
    public int Vocab { get; } = vocab;

    public ReadOnlySpan<float> Logits => outputs[0].GetTensorDataAsSpan<float>();

    /// <summary>The logits that predict the token after <paramref name="row"/>'s last position.</summary>
    public ReadOnlySpan<float> LastLogits(int row) => Logits.Slice(((row + 1) * Sequence - 1) * Vocab, Vocab);

    /// <summary>Releases everything except <see cref="Present"/>, which the caller keeps for the next step.</summary>
    public void DisposeExceptCache()
    {
        outputs[0].Dispose();
        for (int l = 0; l < routingLayers; l++) outputs[1 + 2 * Present.NumLayers + l].Dispose();
    }

    public void Dispose()
    {
        DisposeExceptCache();
        Present.Dispose();
    }
}

/// <summary>
/// The exported decoder on ONNX Runtime: one session, metadata read once, and a typed forward step over
/// <see cref="OnnxNames"/>. Safe to call from several threads at once (ONNX Runtime sessions are).
/// </summary>
public sealed class OnnxDecoder : IDisposable
{
    private readonly InferenceSession _session;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;

    private OnnxDecoder(InferenceSession session, string provider, OnnxModelInfo info, string path)
    {
        _session = session;
        ExecutionProvider = provider;
        Info = info;
        ModelPath = path;
        int layers = info.Config.NumLayers;
        _inputNames = new[] { OnnxNames.InputIds, OnnxNames.AttentionMask, OnnxNames.PositionIds, OnnxNames.DomainIds }
            .Concat(Enumerable.Range(0, layers).SelectMany(l => new[] { OnnxNames.PastKey(l), OnnxNames.PastValue(l) })).ToArray();
        _reportsRouting = session.OutputMetadata.ContainsKey(OnnxNames.RouterExperts(0));
        _outputNames = new[] { OnnxNames.Logits }
            .Concat(Enumerable.Range(0, layers).SelectMany(l => new[] { OnnxNames.PresentKey(l), OnnxNames.PresentValue(l) }))
            .Concat(_reportsRouting ? Enumerable.Range(0, info.Config.NumMoeLayers).Select(OnnxNames.RouterExperts) : []).ToArray();
    }

    private readonly bool _reportsRouting;

    public OnnxModelInfo Info { get; }
    public string ExecutionProvider { get; }
    public string ModelPath { get; }

    /// <param name="path">an exported <c>model.onnx</c>, or the folder holding it</param>
    public static OnnxDecoder Load(string path, OnnxSessionSettings? settings = null)
    {
        var modelPath = Directory.Exists(path) ? Path.Combine(path, OnnxNames.ModelFileName) : path;
        var (session, provider) = OnnxSessionFactory.Create(modelPath, settings ?? new OnnxSessionSettings());
        try
        {
            var info = OnnxModelInfo.FromMetadata(session.ModelMetadata.CustomMetadataMap, modelPath);
            return new OnnxDecoder(session, provider, info, Path.GetFullPath(modelPath));
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>A reusable binding for decode steps over caller-owned tensors (see <see cref="OnnxStepBinding"/>); dispose it before the decoder.</summary>
    public OnnxStepBinding CreateStepBinding() => new(_session, Info.Config.NumLayers, _reportsRouting ? Info.Config.NumMoeLayers : 0);

    /// <summary>Whether the model reports the experts each token was routed to (<c>router.{i}.experts</c>).</summary>
    public bool ReportsRouting => _reportsRouting;

    public OnnxKvCache EmptyCache(int batch) =>
        OnnxKvCache.Empty(Info.Config.NumLayers, batch, Info.Config.CacheHeads, Info.Config.KeyCacheDim, Info.Config.ValueCacheDim);

    /// <summary>Runs one step; <paramref name="past"/> stays owned by the caller.</summary>
    public OnnxStepOutput Run(OnnxStepInput input, OnnxKvCache past)
    {
        long total = past.Length + input.Sequence;
        if (input.InputIds.Length != input.Batch * input.Sequence || input.PositionIds.Length != input.InputIds.Length)
            throw new ArgumentException($"input ids and positions must hold batch x sequence = {input.Batch * input.Sequence} values");
        if (input.AttentionMask.Length != input.Batch * total)
            throw new ArgumentException($"attention mask must hold batch x (past + sequence) = {input.Batch * total} values, got {input.AttentionMask.Length}");
        if (input.DomainIds.Length != input.Batch)
            throw new ArgumentException($"domain ids must hold one value per sequence ({input.Batch}), got {input.DomainIds.Length}");

        var owned = new List<OrtValue>
        {
            OrtValue.CreateTensorValueFromMemory(input.InputIds, [input.Batch, input.Sequence]),
            OrtValue.CreateTensorValueFromMemory(input.AttentionMask, [input.Batch, total]),
            OrtValue.CreateTensorValueFromMemory(input.PositionIds, [input.Batch, input.Sequence]),
            OrtValue.CreateTensorValueFromMemory(input.DomainIds, [input.Batch]),
        };
        try
        {
            var values = owned.Concat(Enumerable.Range(0, past.NumLayers).SelectMany(l => new[] { past.Key(l), past.Value(l) })).ToArray();
            using var runOptions = new RunOptions();
            var outputs = _session.Run(runOptions, _inputNames, values, _outputNames);
            int layers = past.NumLayers;
            var present = new OnnxKvCache(
                Enumerable.Range(0, layers).Select(l => outputs[1 + 2 * l]).ToArray(),
                Enumerable.Range(0, layers).Select(l => outputs[2 + 2 * l]).ToArray());
            return new OnnxStepOutput(outputs, present, input.Batch, input.Sequence, Info.Config.VocabSize, _reportsRouting ? Info.Config.NumMoeLayers : 0);
        }
        finally
        {
            foreach (var v in owned) v.Dispose();
        }
    }

    /// <summary>
    /// Runs one step, lets <paramref name="read"/> look at its logits, then frees them and <paramref name="past"/>
    /// and returns the extended cache: the loop body of every incremental decoder. If <paramref name="read"/> throws,
    /// the step's outputs are freed and <paramref name="past"/> stays with the caller.
    /// </summary>
    public OnnxKvCache Advance(OnnxStepInput input, OnnxKvCache past, Action<OnnxStepOutput> read)
    {
        var output = Run(input, past);
        try
        {
            read(output);
        }
        catch
        {
            output.Dispose();
            throw;
        }
        output.DisposeExceptCache();
        past.Dispose();
        return output.Present;
    }

    public void Dispose() => _session.Dispose();
}
