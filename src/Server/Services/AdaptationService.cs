using System.Text;
using System.Text.RegularExpressions;
using DesMoe.Core.Config;
using DesMoe.Core.Data;
using DesMoe.Core.Model;
using DesMoe.Core.Tokenization;
using DesMoe.Protos.V1;
using DesMoe.Server.Jobs;
using DesMoe.Server.Options;
using DesMoe.Server.Security;
using DesMoe.Server.Serving;
using DesMoe.Server.Versions;
using Example = DesMoe.Core.Data.Example;
using Grpc.Core;

namespace DesMoe.Server.Services;

public sealed partial class AdaptationService(
    ModelHost host, ModelStore store, JobStore jobs, JobRunner runner, AdminCredential admin, AdaptationSettings settings, ServerOptions options,
    ILoggerFactory loggers)
    : Protos.V1.Adaptation.AdaptationBase
{
    private static readonly object Submitting = new();

    [GeneratedRegex("^[a-z][a-z0-9_-]{0,31}$")]
    private static partial Regex DomainName();

    public override async Task<Job> AddDomain(IAsyncStreamReader<AddDomainRequest> requestStream, ServerCallContext context)
    {
        admin.Demand(context, "AddDomain");
        RequireAdaptingReplica("AddDomain");
        if (!await requestStream.MoveNext(context.CancellationToken) || requestStream.Current.PartCase != AddDomainRequest.PartOneofCase.Header)
            throw Invalid("the first AddDomain message must carry the header (name and budget)");
        var header = requestStream.Current.Header;
        CheckName(header.Name);
        var (steps, batch, lr) = Budget(header.Budget);

        var train = new List<Example>();
        var eval = new List<Example>();
        long bytes = 0;
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            var part = requestStream.Current;
            var (target, examples) = part.PartCase switch
            {
                AddDomainRequest.PartOneofCase.Train => (train, part.Train.Examples),
                AddDomainRequest.PartOneofCase.Eval => (eval, part.Eval.Examples),
                _ => throw Invalid("only the first AddDomain message may carry a header"),
            };
            foreach (var e in examples)
            {
                bytes += Encoding.UTF8.GetByteCount(e.Prompt) + Encoding.UTF8.GetByteCount(e.Completion);
                target.Add(new Example(e.Prompt, e.Completion));
            }
            CheckLimits(train.Count + eval.Count, bytes);
        }
        if (header.ServerTrainPath.Length > 0) train.AddRange(ReadImport(header.ServerTrainPath, "server_train_path"));
        if (header.ServerEvalPath.Length > 0) eval.AddRange(ReadImport(header.ServerEvalPath, "server_eval_path"));
        CheckLimits(train.Count + eval.Count, bytes);

        using (var lease = host.Acquire())
        {
            CheckExamples(train, "train", lease.Engine.Tokenizer, lease.Engine.Config.MaxPositions);
            CheckExamples(eval, "eval", lease.Engine.Tokenizer, lease.Engine.Config.MaxPositions);
        }
        if (eval.Count == 0)
        {
            int held = Math.Max(1, (int)Math.Round(train.Count * settings.HeldOutFraction));
            eval = train.Take(held).ToList();
            train = train.Skip(held).ToList();
        }
        if (train.Count < settings.MinTrainExamples)
            throw Invalid($"domain '{header.Name}' has {train.Count} training examples (after holding out {eval.Count} for evaluation); at least {settings.MinTrainExamples} are needed");
        eval = eval.Take(settings.MaxEvalExamples).ToList();

        var current = store.Current;
        var modelFolder = store.ModelFolderOf(current)
            ?? throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"version {current.Id} is served from an ONNX export without its checkpoint; serve a model folder (model.safetensors) to add domains"));
        CheckRoom(modelFolder, current);
        lock (Submitting)
        {
            CheckName(header.Name); // again, under the lock: two uploads of one name must not both be queued
            var now = DateTimeOffset.UtcNow;
            var job = jobs.Create(new JobRecord
            {
                Id = $"{now:yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..6]}", Domain = header.Name, Status = JobStatus.Queued,
                Message = "queued", Created = now, Updated = now, BaseVersion = current.Id, Steps = steps, BatchSize = batch, LearningRate = lr,
                TrainExamples = train.Count, EvalExamples = eval.Count,
            }, train, eval);
            runner.Enqueue(job.Id);
            return job.ToWire();
        }
    }

    public override async Task WatchJob(JobRequest request, IServerStreamWriter<Job> responseStream, ServerCallContext context)
    {
        var job = Find(request.JobId);
        while (true)
        {
            var next = jobs.NextChange(job.Id, context.CancellationToken);
            job = jobs.Get(job.Id);
            await responseStream.WriteAsync(job.ToWire(), context.CancellationToken);
            if (job.IsFinished) return;
            await next;
        }
    }

    public override Task<Job> GetJob(JobRequest request, ServerCallContext context) => Task.FromResult(Find(request.JobId).ToWire());

    public override Task<ListJobsResponse> ListJobs(ListJobsRequest request, ServerCallContext context)
    {
        var response = new ListJobsResponse();
        response.Jobs.AddRange(jobs.All().Select(j => j.ToWire()));
        return Task.FromResult(response);
    }

    public override Task<Job> CancelJob(JobRequest request, ServerCallContext context)
    {
        admin.Demand(context, "CancelJob");
        RequireAdaptingReplica("CancelJob");
        return Task.FromResult(runner.Cancel(Find(request.JobId).Id).ToWire());
    }

    public override Task<ListModelVersionsResponse> ListModelVersions(ListModelVersionsRequest request, ServerCallContext context)
    {
        var response = new ListModelVersionsResponse();
        var served = host.Version.Id;
        response.Versions.AddRange(store.Versions().Select(v => v.ToWire(served)));
        return Task.FromResult(response);
    }

    public override Task<ModelVersion> Rollback(RollbackRequest request, ServerCallContext context)
    {
        admin.Demand(context, "Rollback");
        RequireAdaptingReplica("Rollback");
        var served = host.Version;
        VersionRecord target;
        if (request.Version.Length == 0)
        {
            target = served.Parent is { } parent && store.Versions().Any(v => v.Id == parent)
                ? store.Get(parent)
                : throw new RpcException(new Status(StatusCode.FailedPrecondition, $"{served.Id} has no earlier version on disk to roll back to"));
        }
        else
        {
            var found = store.Versions().FirstOrDefault(v => v.Id == request.Version);
            target = found ?? throw new RpcException(new Status(StatusCode.NotFound,
                $"no model version '{request.Version}'; versions on disk: {string.Join(", ", store.Versions().Select(v => v.Id))}"));
        }
        if (runner.IsBusy)
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "an adaptation job is running; cancel it or wait before rolling back"));
        var engine = Engine.EngineFactory.Create(options, store, target, loggers.CreateLogger("DesMoe.Engine"));
        store.SetCurrent(target.Id);
        host.Swap(engine, target);
        return Task.FromResult(target.ToWire(target.Id));
    }

    private void RequireAdaptingReplica(string action)
    {
        if (!settings.Enabled)
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"{action}: this replica only serves (DesMoe:Adaptation:Enabled=false); send admin calls to the adapting replica"));
    }

    private void CheckName(string name)
    {
        if (!DomainName().IsMatch(name))
            throw Invalid($"domain name '{name}' is invalid: use 1-32 lower-case letters, digits, '-' or '_', starting with a letter");
        if (name == DomainCatalog.GeneralName) throw Invalid($"'{name}' names the general set and cannot be a domain");
        if (host.Version.Domains.Contains(name))
            throw new RpcException(new Status(StatusCode.AlreadyExists, $"domain '{name}' is already served by {host.Version.Id}"));
        if (jobs.All().FirstOrDefault(j => j.Domain == name && !j.IsFinished) is { } pending)
            throw new RpcException(new Status(StatusCode.AlreadyExists, $"domain '{name}' is already being added by job {pending.Id}"));
    }

    /// <summary>FAILED_PRECONDITION when the served model has no free experts left for another domain (queued jobs count too).</summary>
    private void CheckRoom(string modelFolder, VersionRecord current)
    {
        var config = MoeConfig.Load(Path.Combine(modelFolder, MoeConfig.FileName));
        var path = Path.Combine(modelFolder, ExpertAssignment.FileName);
        var assignment = File.Exists(path) ? ExpertAssignment.Load(path, config.NumLayers, config.NumRoutedExperts) : ExpertAssignment.Empty(config.NumLayers, config.NumRoutedExperts);
        int pending = jobs.All().Count(j => !j.IsFinished);
        if (assignment.NoRoomFor(config.TopK * (pending + 1), config.TopK) is { } problem)
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"{current.Id}: {problem}" + (pending > 0 ? $" ({pending} queued or running job(s) will take theirs first)" : "")));
    }

    private (int Steps, int Batch, double LearningRate) Budget(TrainingBudget? budget)
    {
        int steps = budget?.Steps > 0 ? (int)budget.Steps : settings.DefaultSteps;
        int batch = budget?.BatchSize > 0 ? (int)budget.BatchSize : settings.DefaultBatchSize;
        double lr = budget?.LearningRate > 0 ? budget.LearningRate : settings.DefaultLearningRate;
        if (steps > settings.MaxSteps) throw Invalid($"budget.steps {steps} is over the server's limit of {settings.MaxSteps}");
        if (batch > settings.MaxBatchSize) throw Invalid($"budget.batch_size {batch} is over the server's limit of {settings.MaxBatchSize}");
        if (!(lr <= 0.1) || double.IsNaN(lr)) throw Invalid($"budget.learning_rate {lr} must be in (0, 0.1]");
        return (steps, batch, lr);
    }

    private void CheckLimits(int examples, long bytes)
    {
        if (examples > settings.MaxExamples)
            throw new RpcException(new Status(StatusCode.ResourceExhausted, $"more than {settings.MaxExamples} examples in one AddDomain (the server's limit)"));
        if (bytes > settings.MaxUploadBytes)
            throw new RpcException(new Status(StatusCode.ResourceExhausted, $"the upload exceeds the server's limit of {settings.MaxUploadBytes:N0} bytes of text"));
    }

    private static void CheckExamples(IReadOnlyList<Example> examples, string set, ITextTokenizer tokenizer, int maxPositions)
    {
        for (int i = 0; i < examples.Count; i++)
        {
            var e = examples[i];
            if (e.Prompt.Length == 0 || e.Completion.Length == 0)
                throw Invalid($"{set} example {i}: prompt and completion must both be non-empty");
            int length = PromptFormat.EncodeExample(tokenizer, e.Prompt, e.Completion).Ids.Count;
            if (length > maxPositions)
                throw Invalid($"{set} example {i} is {length} tokens long; the model's context is {maxPositions}");
        }
    }

    private IReadOnlyList<Example> ReadImport(string path, string field)
    {
        if (string.IsNullOrWhiteSpace(settings.ImportDirectory))
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"{field}: server-side paths are disabled (set DesMoe:Adaptation:ImportDirectory)"));
        var root = Path.GetFullPath(settings.ImportDirectory).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        var full = Path.GetFullPath(Path.Combine(root, path));
        if (!full.StartsWith(root, StringComparison.Ordinal))
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"{field} '{path}' is outside the import directory"));
        try
        {
            return Jsonl.Read(full);
        }
        catch (Exception e) when (e is IOException or DataFormatException)
        {
            throw Invalid($"{field}: {e.Message}");
        }
    }

    private JobRecord Find(string id) =>
        jobs.TryGet(id, out var job) ? job : throw new RpcException(new Status(StatusCode.NotFound, $"no job '{id}'"));

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
