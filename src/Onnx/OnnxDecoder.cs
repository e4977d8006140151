using Microsoft.ML.OnnxRuntime;

namespace DesMoe.Onnx;

/// <summary>One forward step's inputs, row-major: ids and positions [batch, sequence], mask [batch, past + sequence], domains [batch].</summary>
public sealed record OnnxStepInput(int Batch, int Sequence, long[] InputIds, long[] AttentionMask, long[] PositionIds, long[] DomainIds);

/// <summary>
/// One step's outputs: the logits [batch, sequence, vocab] (unless the caller left them out), the extended KV cache,
/// the routed experts when the model reports them, and the graph's likeliest tokens when it has them. The outputs
/// come in <see cref="OnnxDecoder"/>'s fetch order: logits, present key and value per layer, routed experts per MoE
/// layer, top tokens. Disposing frees all.
/// </summary>
public sealed class OnnxStepOutput : IDisposable
{
    private readonly IDisposableReadOnlyCollection<OrtValue> _outputs;
    private readonly int _routingLayers, _firstRouting;

    internal OnnxStepOutput(IDisposableReadOnlyCollection<OrtValue> outputs, int layers, int batch, int sequence, int vocab,
        bool hasLogits, int routingLayers, bool hasTopTokens)
    {
        _outputs = outputs;
        HasLogits = hasLogits;
        HasTopTokens = hasTopTokens;
        _routingLayers = routingLayers;
        int firstPresent = hasLogits ? 1 : 0;
        _firstRouting = firstPresent + 2 * layers;
        Present = new OnnxKvCache(
            Enumerable.Range(0, layers).Select(l => outputs[firstPresent + 2 * l]).ToArray(),
            Enumerable.Range(0, layers).Select(l => outputs[firstPresent + 2 * l + 1]).ToArray());
        (Batch, Sequence, Vocab) = (batch, sequence, vocab);
    }

    /// <summary>Whether <see cref="RouterExperts"/> is available (exports from before the routing outputs lack it).</summary>
    public bool HasRouting => _routingLayers > 0;

    /// <summary>[batch * sequence, top_k] the experts MoE layer <paramref name="layer"/> routed each token to.</summary>
    public ReadOnlySpan<long> RouterExperts(int layer) => _outputs[_firstRouting + layer].GetTensorDataAsSpan<long>();

    public OnnxKvCache Present { get; }
    public int Batch { get; }
    public int Sequence { get; }
    public int Vocab { get; }

    public bool HasLogits { get; }

    public ReadOnlySpan<float> Logits => HasLogits
        ? _outputs[0].GetTensorDataAsSpan<float>()
        : throw new InvalidOperationException("this step ran without fetching the logits");

    /// <summary>The logits that predict the token after <paramref name="row"/>'s last position.</summary>
    public ReadOnlySpan<float> LastLogits(int row) => Logits.Slice(((row + 1) * Sequence - 1) * Vocab, Vocab);

    /// <summary>Whether <see cref="LastTopTokens"/> is available (exports from before 2026-12-07 lack it).</summary>
    public bool HasTopTokens { get; }

    /// <summary>The graph's <see cref="OnnxNames.TopTokenCount"/> likeliest tokens after <paramref name="row"/>'s last position, best first.</summary>
    public ReadOnlySpan<long> LastTopTokens(int row) => HasTopTokens
        ? _outputs[^1].GetTensorDataAsSpan<long>().Slice(((row + 1) * Sequence - 1) * OnnxNames.TopTokenCount, OnnxNames.TopTokenCount)
        : throw new InvalidOperationException("the model has no top_tokens output; export it again to get one");

    /// <summary>Releases everything except <see cref="Present"/>, which the caller keeps for the next step.</summary>
    public void DisposeExceptCache()
    {
        int firstPresent = HasLogits ? 1 : 0;
        for (int i = 0; i < _outputs.Count; i++)
            if (i < firstPresent || i >= _firstRouting) _outputs[i].Dispose();
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
        ReportsTopTokens = session.OutputMetadata.ContainsKey(OnnxNames.TopTokens);
        _outputNames = new[] { OnnxNames.Logits }
            .Concat(Enumerable.Range(0, layers).SelectMany(l => new[] { OnnxNames.PresentKey(l), OnnxNames.PresentValue(l) }))
            .Concat(_reportsRouting ? Enumerable.Range(0, info.Config.NumMoeLayers).Select(OnnxNames.RouterExperts) : [])
            .Concat(ReportsTopTokens ? [OnnxNames.TopTokens] : []).ToArray();
    }

    private readonly bool _reportsRouting;

    /// <summary>Whether the graph outputs its likeliest tokens (<see cref="OnnxNames.TopTokens"/>), so a greedy step can skip the logits.</summary>
    public bool ReportsTopTokens { get; }

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
    public OnnxStepBinding CreateStepBinding() => new(_session, Info.Config.NumLayers, _reportsRouting ? Info.Config.NumMoeLayers : 0, ReportsTopTokens);

    /// <summary>Whether the model reports the experts each token was routed to (<c>router.{i}.experts</c>).</summary>
    public bool ReportsRouting => _reportsRouting;

    public OnnxKvCache EmptyCache(int batch) =>
        OnnxKvCache.Empty(Info.Config.NumLayers, batch, Info.Config.CacheHeads, Info.Config.KeyCacheDim, Info.Config.ValueCacheDim);

    /// <summary>Runs one step; <paramref name="past"/> stays owned by the caller.</summary>
    /// <param name="fetchLogits">false leaves the logits in ONNX Runtime's memory (on the device under CUDA); only a model that <see cref="ReportsTopTokens"/> can say so</param>
    public OnnxStepOutput Run(OnnxStepInput input, OnnxKvCache past, bool fetchLogits = true)
    {
        if (!fetchLogits && !ReportsTopTokens) throw new InvalidOperationException("the model has no top_tokens output, so a step cannot leave its logits out");
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
            var outputs = _session.Run(runOptions, _inputNames, values, fetchLogits ? _outputNames : _outputNames[1..]);
            return new OnnxStepOutput(outputs, past.NumLayers, input.Batch, input.Sequence, Info.Config.VocabSize, fetchLogits,
                _reportsRouting ? Info.Config.NumMoeLayers : 0, ReportsTopTokens);
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
