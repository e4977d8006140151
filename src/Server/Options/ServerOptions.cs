using DesMoe.Onnx;

namespace DesMoe.Server.Options;

/// <summary>
/// The serving engine. Only ONNX Runtime: the server carries no TorchSharp (the TorchSharp model runs in the trainer,
/// the worker and the tests), so a configured "TorchSharp" fails at start-up naming the value.
/// </summary>
public enum EngineKind
{
    /// <summary>The exported ONNX model on ONNX Runtime with continuous batching (production).</summary>
    Onnx,
}

/// <summary>The "DesMoe" configuration section (appsettings.json, DESMOE__* environment variables, --DesMoe:* arguments).</summary>
public sealed class ServerOptions
{
    public const string Section = "DesMoe";

    /// <summary>An exported folder (model.onnx) or a model folder (model.safetensors, exported on start); empty serves the bundled base model.</summary>
    public string ModelPath { get; set; } = "";

    /// <summary>Where the server keeps its own files (exports of model folders, later model versions and jobs).</summary>
    public string DataDirectory { get; set; } = "";

    public EngineKind Engine { get; set; } = EngineKind.Onnx;

    /// <summary>Auto (CUDA when available), Cpu or Cuda.</summary>
    public ExecutionProviderPreference ExecutionProvider { get; set; } = ExecutionProviderPreference.Auto;

    /// <summary>Most sequences decoded together in one batched step.</summary>
    public int MaxBatch { get; set; } = 32;

    /// <summary>Requests that may wait for a batch slot; more are refused with RESOURCE_EXHAUSTED.</summary>
    public int QueueSize { get; set; } = 64;

    /// <summary>
    /// Positions (prompt + generated tokens) one request may hold, which the KV slots are allocated for; 0 is the
    /// model's max_position_embeddings up to 4096. Requests beyond it are refused with INVALID_ARGUMENT.
    /// </summary>
    public int MaxContextTokens { get; set; }

    /// <summary>Used when a request leaves max_new_tokens at 0.</summary>
    public int DefaultMaxNewTokens { get; set; } = 64;

    /// <summary>Requests asking for more new tokens are rejected with INVALID_ARGUMENT.</summary>
    public int MaxNewTokensLimit { get; set; } = 512;

    /// <summary>CPU threads for inference; 0 = chosen by the model's size (see <see cref="InferenceThreads"/>).</summary>
    public int Threads { get; set; }

    /// <summary>
    /// ONNX Runtime's intra-op threads: <see cref="Threads"/>, or by default one for a model whose hidden size is under
    /// <see cref="SmallModelHiddenSize"/> and one per core (ONNX Runtime's default, 0) for larger ones. A small model's
    /// matrix products are too small to split: waking a second worker for each op costs more than it gives, and the
    /// core it would take runs Kestrel and the response writes. Measured on 2 cores (docs/serving.md): the bundled
    /// model (hidden 128) streams 1.4-1.6x the tokens on one thread, a 370M-parameter model (hidden 1024) 1.6-1.8x on two.
    /// </summary>
    public int InferenceThreads(global::DesMoe.Formats.Config.MoeConfig model) => Threads > 0 ? Threads : model.HiddenSize < SmallModelHiddenSize ? 1 : 0;

    /// <summary>Hidden sizes below this decode on one intra-op thread unless <see cref="Threads"/> says otherwise.</summary>
    public const int SmallModelHiddenSize = 512;

    /// <summary>Let ONNX Runtime's idle threads spin (faster alone on a machine, slower when the cores are shared).</summary>
    public bool OrtSpinning { get; set; }

    /// <summary>Requests with an empty domain are routed by the domain inferred from their prompt (as "auto" always is); false serves them on the plain router.</summary>
    public bool AutoDomain { get; set; } = true;

    /// <summary>Share of the nearest reference prompts an inferred domain needs; below it the plain router serves.</summary>
    public double AutoDomainMinConfidence { get; set; } = 0.6;

    /// <summary>Reference prompts per served domain (from the version's held-out sets) and of general text, profiled when a version loads.</summary>
    public int AutoDomainReferencePrompts { get; set; } = 100;

    public string ResolvedDataDirectory() => string.IsNullOrWhiteSpace(DataDirectory)
        ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "desmoe")
        : DataDirectory;
}
