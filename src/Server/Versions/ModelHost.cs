using DesMoe.Server.Engine;

namespace DesMoe.Server.Versions;

/// <summary>
/// The model version in service, swapped without dropping a request: a request leases the version it starts on and
/// finishes on it; a swap makes new requests take the new version, and the old engine is disposed once its last
/// lease is returned.
/// </summary>
public sealed class ModelHost : IDisposable
{
    private readonly object _lock = new();
    private ServedModel _current;

    public ModelHost(IGenerationEngine engine, VersionRecord version) => _current = new ServedModel(engine, version);

    /// <summary>Raised after a swap, with the version now served.</summary>
    public event Action<VersionRecord>? Swapped;

    public VersionRecord Version => Volatile.Read(ref _current).Version;

    /// <summary>The current version, held until the lease is disposed.</summary>
    public ModelLease Acquire()
    {
        lock (_lock)
        {
            _current.AddRef();
            return new ModelLease(_current);
        }
    }

    public void Swap(IGenerationEngine engine, VersionRecord version)
    {
        ServedModel old;
        lock (_lock)
        {
            old = _current;
            _current = new ServedModel(engine, version);
        }
        old.Release();
        Swapped?.Invoke(version);
    }

    public void Dispose()
    {
        lock (_lock) _current.Release();
    }
}

/// <summary>One version's engine with a count of the requests on it (plus one while it is the current version).</summary>
internal sealed class ServedModel(IGenerationEngine engine, VersionRecord version)
{
    private int _references = 1;

    public IGenerationEngine Engine { get; } = engine;
    public VersionRecord Version { get; } = version;

    public void AddRef() => Interlocked.Increment(ref _references);

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0 && Engine is IDisposable disposable) disposable.Dispose();
    }
}

/// <summary>A request's hold on the version it runs on.</summary>
public sealed class ModelLease : IDisposable
{
    private ServedModel? _model;

    internal ModelLease(ServedModel model) => _model = model;

    public IGenerationEngine Engine => (_model ?? throw new ObjectDisposedException(nameof(ModelLease))).Engine;
    public VersionRecord Version => (_model ?? throw new ObjectDisposedException(nameof(ModelLease))).Version;

    public void Dispose() => Interlocked.Exchange(ref _model, null)?.Release();
}
