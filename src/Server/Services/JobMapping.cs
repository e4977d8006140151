using DesMoe.Protos.V1;
using DesMoe.Server.Jobs;
using DesMoe.Server.Versions;
using Google.Protobuf.WellKnownTypes;

namespace DesMoe.Server.Services;

/// <summary>Job and version records as their wire messages.</summary>
internal static class JobMapping
{
    public static Job ToWire(this JobRecord job)
    {
        var wire = new Job
        {
            Id = job.Id, Domain = job.Domain, State = (JobState)((int)job.Status + 1), Message = job.Message,
            Created = Timestamp.FromDateTimeOffset(job.Created), Updated = Timestamp.FromDateTimeOffset(job.Updated),
            BaseVersion = job.BaseVersion, ResultVersion = job.ResultVersion,
            TrainExamples = (uint)job.TrainExamples, EvalExamples = (uint)job.EvalExamples,
            Kind = job.Kind == Jobs.JobKind.RemoveDomain ? Protos.V1.JobKind.RemoveDomain : Protos.V1.JobKind.AddDomain,
        };
        if (job.Progress is { } p)
            wire.Progress = new JobProgress
            {
                Phase = p.Phase, Step = (uint)p.Step, TotalSteps = (uint)p.TotalSteps, Loss = p.Loss, RouterKl = p.RouterKl,
                TokensPerSecond = p.TokensPerSecond, EtaSeconds = p.EtaSeconds,
            };
        if (job.Evaluation is { } e)
        {
            wire.Evaluation = new JobEvaluation { MaxAllowedDrop = e.MaxAllowedDrop, Passed = e.Passed, GeneralSet = e.GeneralSet ?? "",
                MaxAllowedTextDrop = e.MaxAllowedTextDrop ?? 0 };
            wire.Evaluation.Scores.AddRange(e.Scores.Select(s =>
            {
                var score = new DomainScore { Name = s.Name, After = s.After, Examples = (uint)s.Examples };
                if (s.Before is { } before) score.Before = before;
                return score;
            }));
            wire.Evaluation.UnchangedPaths.AddRange((e.UnchangedPaths ?? []).Select(c => new PathCheck
            {
                Name = c.Name, Prompts = (uint)c.Prompts, Logits = (ulong)c.Logits, DifferingPrompts = (uint)c.DifferingPrompts, BitIdentical = c.BitIdentical,
            }));
        }
        return wire;
    }

    public static ModelVersion ToWire(this VersionRecord v, string servedId, string? currentId = null, string? loadError = null)
    {
        var wire = new ModelVersion
        {
            Id = v.Id, Parent = v.Parent ?? "", JobId = v.JobId ?? "", Created = Timestamp.FromDateTimeOffset(v.Created), Serving = v.Id == servedId,
            Current = v.Id == currentId, LoadError = loadError ?? "",
        };
        wire.Domains.AddRange(v.Domains);
        return wire;
    }
}
