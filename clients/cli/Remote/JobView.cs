using DesMoe.Protos.V1;
using Grpc.Core;

namespace DesMoe.Cli.Remote;

/// <summary>How jobs and their evaluations print.</summary>
internal static class JobView
{
    public static string State(JobState state) => state.ToString().Replace("JobState", "").ToLowerInvariant();

    public static string Line(Job job) =>
        $"{job.Id}  {job.Domain,-14} {State(job.State),-10} {job.BaseVersion,-6} -> {(job.ResultVersion.Length > 0 ? job.ResultVersion : "-"),-6} {job.Message}";

    public static string Progress(Job job)
    {
        var p = job.Progress;
        if (p is null || p.TotalSteps == 0) return $"{State(job.State)}: {job.Message}";
        int width = 30, filled = (int)(width * p.Step / (double)p.TotalSteps);
        return $"{State(job.State),-10} [{new string('#', filled)}{new string('.', width - filled)}] {p.Step}/{p.TotalSteps} {p.Phase,-13} " +
               $"loss {p.Loss:F3}  router-kl {p.RouterKl:F4}  {p.TokensPerSecond:F0} tok/s  eta {TimeSpan.FromSeconds(p.EtaSeconds):mm\\:ss}";
    }

    public static void PrintEvaluation(Job job)
    {
        if (job.Evaluation is null) return;
        if (job.Evaluation.Scores.Count > 0) // a removal scores nothing: its gate is the bit-for-bit comparison below
        {
            // Wide enough for a probe's name, e.g. general/text:moby-dick.
            Console.WriteLine($"\n{"set",-24} {"before",8} {"after",8} {"change",8} {"examples",9}");
            foreach (var s in job.Evaluation.Scores)
                Console.WriteLine($"{s.Name,-24} {(s.HasBefore ? s.Before.ToString("P1") : "-"),8} {s.After,8:P1} {(s.HasBefore ? ((s.After - s.Before) * 100).ToString("+0.0;-0.0") : "new"),8} {s.Examples,9}");
            var textLimit = job.Evaluation.MaxAllowedTextDrop > 0 ? $", text probes {job.Evaluation.MaxAllowedTextDrop:P1}" : "";
            Console.WriteLine($"gate (max drop {job.Evaluation.MaxAllowedDrop:P1}{textLimit}): {(job.Evaluation.Passed ? "passed" : "failed")}");
            if (job.Evaluation.GeneralSet.Length > 0) Console.WriteLine($"general set: {job.Evaluation.GeneralSet}");
        }
        foreach (var c in job.Evaluation.UnchangedPaths)
            Console.WriteLine($"{(c.Name == DesMoe.Formats.Data.DomainCatalog.GeneralName ? "no-domain path" : $"domain {c.Name}")}: logits of {c.Prompts} prompts ({c.Logits:N0} values) " +
                              (c.BitIdentical ? "bit-identical to before" : $"changed for {c.DifferingPrompts} of them"));
    }

    /// <summary>Follows a job to its end, redrawing one progress line on a terminal; returns the final state.</summary>
    public static async Task<Job> WatchAsync(Adaptation.AdaptationClient client, string jobId, CancellationToken cancellation)
    {
        using var call = client.WatchJob(new JobRequest { JobId = jobId }, cancellationToken: cancellation);
        Job? last = null;
        bool terminal = !Console.IsOutputRedirected;
        await foreach (var job in call.ResponseStream.ReadAllAsync(cancellation))
        {
            var line = Progress(job);
            if (terminal) Console.Write($"\r{line,-120}");
            else if (last is null || last.State != job.State || job.Progress?.Step != last.Progress?.Step) Console.WriteLine(line);
            last = job;
        }
        if (terminal) Console.WriteLine();
        if (last is null) throw new InvalidOperationException($"job {jobId} reported nothing");
        Console.WriteLine($"{State(last.State)}: {last.Message}");
        PrintEvaluation(last);
        return last;
    }
}
