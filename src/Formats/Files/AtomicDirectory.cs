namespace DesMoe.Formats.Files;

/// <summary>
/// Writes a folder next to its target and renames it into place, so readers see the old folder or the complete
/// new one, never a half-written one, and a failure leaves the old folder untouched.
/// </summary>
public static class AtomicDirectory
{
    /// <param name="target">the folder to create or replace</param>
    /// <param name="fill">writes the new content into the staging folder it is given</param>
    public static void Write(string target, Action<string> fill)
    {
        var full = Path.GetFullPath(target).TrimEnd(Path.DirectorySeparatorChar);
        var staging = full + $".saving-{Environment.ProcessId}-{Guid.NewGuid():N}";
        Directory.CreateDirectory(staging);
        try
        {
            fill(staging);
            Replace(staging, full);
        }
        catch
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            throw;
        }
    }

    private static void Replace(string staging, string target)
    {
        if (!Directory.Exists(target))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            Directory.Move(staging, target);
            return;
        }
        var old = target + $".old-{Guid.NewGuid():N}";
        Directory.Move(target, old);
        Directory.Move(staging, target);
        Directory.Delete(old, recursive: true);
    }
}
