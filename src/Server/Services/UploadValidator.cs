using DesMoe.Formats.Files;
using System.Text.RegularExpressions;
using DesMoe.Formats.Data;
using DesMoe.Formats.Experts;
using DesMoe.Formats.Tokenization;
using DesMoe.Protos.V1;
using DesMoe.Server.Jobs;
using DesMoe.Server.Options;
using DesMoe.Server.Versions;
using Example = DesMoe.Formats.Data.Example;
using Grpc.Core;

namespace DesMoe.Server.Services;

/// <summary>The checks an AddDomain upload passes before anything is stored, each failing with the right status and a message naming the problem.</summary>
public sealed partial class UploadValidator(ModelHost host, JobStore jobs, AdaptationSettings settings)
{
    [GeneratedRegex("^[a-z][a-z0-9_-]{0,31}$")]
    private static partial Regex DomainName();

    public void CheckName(string name)
    {
        if (!DomainName().IsMatch(name))
            throw Invalid($"domain name '{name}' is invalid: use 1-32 lower-case letters, digits, '-' or '_', starting with a letter");
        if (name == DomainCatalog.GeneralName) throw Invalid($"'{name}' names the general set and cannot be a domain");
        if (DomainInference.DomainResolution.IsReserved(name)) throw Invalid($"'{name}' is reserved in requests (\"auto\" infers the domain, \"none\" asks for the plain router)");
        if (host.Version.Domains.Contains(name))
            throw new RpcException(new Status(StatusCode.AlreadyExists, $"domain '{name}' is already served by {host.Version.Id}"));
        if (jobs.All().FirstOrDefault(j => j.Domain == name && !j.IsFinished) is { } pending)
            throw new RpcException(new Status(StatusCode.AlreadyExists, $"domain '{name}' is already being added by job {pending.Id}"));
    }

    /// <summary>
    /// RESOURCE_EXHAUSTED when another domain's expert copies would take the served model's domains past
    /// <see cref="AdaptationSettings.MaxDomainBytes"/> (queued jobs count too): memory, not free experts, bounds the domains.
    /// </summary>
    public void CheckRoom(string modelFolder, VersionRecord current)
    {
        var config = ModelFiles.LoadConfig(modelFolder);
        var assignment = ExpertAssignment.LoadFrom(modelFolder, config) ?? ExpertAssignment.Empty(config.NumMoeLayers, config.NumRoutedExperts);
        int pending = jobs.All().Count(j => !j.IsFinished);
        long held = DomainFootprint.Of(config, assignment).Where(f => assignment.CopySlots.ContainsKey(f.Domain)).Sum(f => f.Bytes);
        long each = DomainFootprint.BytesOfCopies(config, config.TopK);
        if (held + each * (pending + 1) > settings.MaxDomainBytes)
            throw new RpcException(new Status(StatusCode.ResourceExhausted,
                $"{current.Id}: its domains hold {held / 1e6:F2} MB and another takes {each / 1e6:F2} MB" + (pending > 0 ? $" ({pending} queued or running job(s) take theirs first)" : "") +
                $", over DesMoe:Adaptation:MaxDomainBytes ({settings.MaxDomainBytes / 1e6:F2} MB); remove a domain (RemoveDomain) or raise the budget"));
    }

    /// <summary>FAILED_PRECONDITION when <paramref name="domain"/> owns its experts (added before copies): only copies can be removed.</summary>
    public static void CheckRemovable(string modelFolder, string domain)
    {
        var config = ModelFiles.LoadConfig(modelFolder);
        var assignment = ExpertAssignment.LoadFrom(modelFolder, config);
        if (assignment is null || !assignment.CopySlots.ContainsKey(domain))
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"domain '{domain}' owns its experts (it was added before domains were expert copies): removing it would hand its trained experts back to the no-domain path"));
    }

    public (int Steps, int Batch, double LearningRate) Budget(TrainingBudget? budget)
    {
        // 0 (unset in proto3) means the server's default; steps and batch_size are unsigned on the wire.
        long requestedSteps = budget?.Steps ?? 0, requestedBatch = budget?.BatchSize ?? 0;
        double requestedLr = budget?.LearningRate ?? 0;
        if (requestedSteps > settings.MaxSteps) throw Invalid($"budget.steps {requestedSteps} is over the server's limit of {settings.MaxSteps}");
        if (requestedBatch > settings.MaxBatchSize) throw Invalid($"budget.batch_size {requestedBatch} is over the server's limit of {settings.MaxBatchSize}");
        if (!double.IsFinite(requestedLr) || requestedLr < 0 || requestedLr > 0.1)
            throw Invalid($"budget.learning_rate {requestedLr} must be in (0, 0.1], or 0 for the server's default ({settings.DefaultLearningRate})");
        return (requestedSteps > 0 ? (int)requestedSteps : settings.DefaultSteps, requestedBatch > 0 ? (int)requestedBatch : settings.DefaultBatchSize,
            requestedLr > 0 ? requestedLr : settings.DefaultLearningRate);
    }

    public void CheckLimits(int examples, long bytes)
    {
        if (examples > settings.MaxExamples)
            throw new RpcException(new Status(StatusCode.ResourceExhausted, $"more than {settings.MaxExamples} examples in one AddDomain (the server's limit)"));
        if (bytes > settings.MaxUploadBytes)
            throw new RpcException(new Status(StatusCode.ResourceExhausted, $"the upload exceeds the server's limit of {settings.MaxUploadBytes:N0} bytes of text"));
    }

    public static void CheckExamples(IReadOnlyList<Example> examples, string set, ITextTokenizer tokenizer, int maxPositions)
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

    public IReadOnlyList<Example> ReadImport(string path, string field)
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

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
