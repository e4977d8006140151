using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace DesMoe.Tests.Support;

/// <summary>The checkout the tests were built from, and the <c>dotnet</c> commands the deployment tests run in it.</summary>
internal static class Repository
{
    public static readonly string Root = FindRoot();

    /// <summary>The configuration (Debug, Release) these test binaries, and so the projects they reference, were built in.</summary>
    public static string Configuration { get; } = typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "Configuration").Value!;

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "DesMoe.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("DesMoe.sln not found above the test binaries");
    }

    /// <summary>
    /// <c>dotnet publish PROJECT --no-build</c> of the binaries the test run was built from into <paramref name="output"/>:
    /// seconds, where a build of its own would take minutes and race the test run for the obj folders.
    /// </summary>
    public static void PublishBuilt(string project, string output, params string[] properties)
    {
        var start = new ProcessStartInfo(DotnetHost.Path)
        {
            WorkingDirectory = Root, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in (string[])["publish", Path.Combine(Root, project), "--no-build", "-c", Configuration, "-o", output, "-nologo",
                     "--disable-build-servers", .. properties.Select(p => "-p:" + p)])
            start.ArgumentList.Add(a);
        // MSBuild nodes left running would hold the redirected output open; the test host's MSBuild variables are not this build's.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        foreach (var inherited in (string[])["MSBuildExtensionsPath", "MSBuildSDKsPath", "MSBUILD_EXE_PATH"]) start.Environment.Remove(inherited);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet publish");
        var log = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet publish {project} took over 3 minutes:\n{log}");
        }
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"dotnet publish {project} failed (exit code {process.ExitCode}):\n{log}");
    }
}
