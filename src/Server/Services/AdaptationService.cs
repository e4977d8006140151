using System.Text;
using DesMoe.Protos.V1;
using DesMoe.Server.Jobs;
using DesMoe.Server.Options;
using DesMoe.Server.Versions;
using DesMoe.WorkerProtocol;
using Example = DesMoe.Formats.Data.Example;
using Grpc.Core;

namespace DesMoe.Server.Services;

[BindServiceMethod(typeof(ParseErrorBinding), nameof(ParseErrorBinding.BindAdaptation))]
public sealed class AdaptationService(
    ModelHost host, ModelStore store, JobStore jobs, JobRunner runner, WorkerLocator workers, UploadValidator uploads,
    AdaptationSettings settings, ServerOptions options, ILoggerFactory loggers)
    : Protos.V1.Adaptation.AdaptationBase
{
    private static readonly object Submitting = new();

    public override async Task<Job> AddDomain(IAsyncStreamReader<AddDomainRequest> requestStream, ServerCallContext context)
    {
        if (workers.Find(out var searched) is null) throw new RpcException(new Status(StatusCode.FailedPrecondition, WorkerLocator.ServingOnly("AddDomain", searched)));
        if (!await requestStream.MoveNext(context.CancellationToken) || requestStream.Current.PartCase != AddDomainRequest.PartOneofCase.Header)
            throw Invalid("the first AddDomain message must carry the header (name and budget)");
        var header = requestStream.Current.Header;
        uploads.CheckName(header.Name);
        var (steps, batch, lr) = uploads.Budget(header.Budget);

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
            uploads.CheckLimits(train.Count + eval.Count, bytes);
        }
        if (header.ServerTrainPath.Length > 0) train.AddRange(uploads.ReadImport(header.ServerTrainPath, "server_train_path"));
        if (header.ServerEvalPath.Length > 0) eval.AddRange(uploads.ReadImport(header.ServerEvalPath, "server_eval_path"));
        uploads.CheckLimits(train.Count + eval.Count, bytes);

        using (var lease = host.Acquire())
        {
            UploadValidator.CheckExamples(train, "train", lease.Engine.Tokenizer, lease.Engine.Config.MaxPositions);
            UploadValidator.CheckExamples(eval, "eval", lease.Engine.Tokenizer, lease.Engine.Config.MaxPositions);
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
        uploads.CheckRoom(modelFolder, current);
        lock (Submitting)
        {
            uploads.CheckName(header.Name); // again, under the lock: two uploads of one name must not both be queued
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

    public override Task<Job> RemoveDomain(RemoveDomainRequest request, ServerCallContext context)
    {
        if (workers.Find(out var searched) is null) throw new RpcException(new Status(StatusCode.FailedPrecondition, WorkerLocator.ServingOnly("RemoveDomain", searched)));
        var current = store.Current;
        if (!current.Domains.Contains(request.Name))
            throw new RpcException(new Status(StatusCode.NotFound, $"{current.Id} serves no domain named '{request.Name}'; it serves [{string.Join(", ", current.Domains)}]"));
        var modelFolder = store.ModelFolderOf(current)
            ?? throw new RpcException(new Status(StatusCode.FailedPrecondition, $"version {current.Id} is served from an ONNX export without its checkpoint"));
        UploadValidator.CheckRemovable(modelFolder, request.Name);
        lock (Submitting)
        {
            if (jobs.All().FirstOrDefault(j => j.Domain == request.Name && !j.IsFinished) is { } pending)
                throw new RpcException(new Status(StatusCode.AlreadyExists, $"domain '{request.Name}' has job {pending.Id} queued or running"));
            var now = DateTimeOffset.UtcNow;
            var job = jobs.Create(new JobRecord
            {
                Id = $"{now:yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..6]}", Domain = request.Name, Kind = Jobs.JobKind.RemoveDomain, Status = JobStatus.Queued,
                Message = "queued", Created = now, Updated = now, BaseVersion = current.Id,
            }, [], []);
            runner.Enqueue(job.Id);
            return Task.FromResult(job.ToWire());
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
        return Task.FromResult(runner.Cancel(Find(request.JobId).Id).ToWire());
    }

    public override Task<ListModelVersionsResponse> ListModelVersions(ListModelVersionsRequest request, ServerCallContext context)
    {
        var response = new ListModelVersionsResponse();
        var served = host.Version.Id;
        var current = store.CurrentIdOrNull;
        response.Versions.AddRange(store.Versions().Select(v => v.ToWire(served, current, store.LoadError(v.Id))));
        return Task.FromResult(response);
    }

    public override Task<ModelVersion> Rollback(RollbackRequest request, ServerCallContext context)
    {
        var served = host.Version;
        var versions = store.Versions();
        VersionRecord target = request.Version.Length == 0
            ? versions.FirstOrDefault(v => v.Id == served.Parent)
              ?? throw new RpcException(new Status(StatusCode.FailedPrecondition, $"{served.Id} has no earlier version on disk to roll back to"))
            : versions.FirstOrDefault(v => v.Id == request.Version)
              ?? throw new RpcException(new Status(StatusCode.NotFound,
                  $"no model version '{request.Version}'; versions on disk: {string.Join(", ", versions.Select(v => v.Id))}"));
        if (runner.IsBusy)
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "an adaptation job is running; cancel it or wait before rolling back"));
        if (store.LoadError(target.Id) is { } known)
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"version {target.Id} cannot be served: {known}"));
        Engine.IGenerationEngine engine;
        try
        {
            engine = Engine.EngineFactory.Create(options, store, target, loggers.CreateLogger("DesMoe.Engine"));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            var reason = store.MarkBroken(target.Id, e);
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"version {target.Id} failed to load: {reason}; {served.Id} stays in service"));
        }
        store.SetCurrent(target.Id);
        host.Swap(engine, target);
        return Task.FromResult(target.ToWire(target.Id, target.Id));
    }

    private JobRecord Find(string id) =>
        jobs.TryGet(id, out var job) ? job : throw new RpcException(new Status(StatusCode.NotFound, $"no job '{id}'"));

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
