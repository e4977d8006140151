using DesMoe.Server.Options;
using DesMoe.WorkerProtocol;

namespace DesMoe.Server.Jobs;

/// <summary>
/// Finds the adaptation worker executable (DesMoe.Worker, src/Worker): at <c>DesMoe:Adaptation:WorkerPath</c> when that
/// is set (the worker's assembly, its app host, or their folder; relative to the server's folder), else beside the
/// server (a deployment or test that puts both into one folder), else in the server's <c>worker/</c> folder (where a
/// build of the server puts it, and where the adaptation image installs it). Looked up on every use, so a worker
/// installed later is found without a restart. A deployment without one serves only: AddDomain is refused, and a
/// model folder cannot be exported into a new store's base version.
/// </summary>
public sealed class WorkerLocator(AdaptationSettings settings)
{
    /// <summary>The folder beside the server's assembly that a build of the server copies the worker into.</summary>
    public const string FolderName = "worker";

    /// <summary>The worker's assembly or app host, or null; <paramref name="searched"/> names the places looked at.</summary>
    public string? Find(out string searched)
    {
        var candidates = Candidates();
        searched = string.Join(" or ", candidates) + (Configured ? " (DesMoe:Adaptation:WorkerPath)" : "");
        return candidates.FirstOrDefault(File.Exists);
    }

    /// <summary>The one-line reason <paramref name="action"/> is refused where no worker was found at <paramref name="searched"/>.</summary>
    public static string ServingOnly(string action, string searched) =>
        $"{action}: this deployment serves only: no adaptation worker at {searched}; install DesMoe.Worker (dotnet publish src/Worker) there or set DesMoe:Adaptation:WorkerPath";

    private bool Configured => !string.IsNullOrWhiteSpace(settings.WorkerPath);

    private IReadOnlyList<string> Candidates()
    {
        var serverFolder = AppContext.BaseDirectory;
        if (!Configured)
            return [Path.Combine(serverFolder, WorkerCommands.AssemblyFileName), Path.Combine(serverFolder, FolderName, WorkerCommands.AssemblyFileName)];
        var path = Path.GetFullPath(settings.WorkerPath, serverFolder);
        return [Directory.Exists(path) ? Path.Combine(path, WorkerCommands.AssemblyFileName) : path];
    }
}
