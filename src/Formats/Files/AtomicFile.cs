namespace DesMoe.Formats.Files;

/// <summary>
/// Writes a file next to its target and renames it over the target, so readers see the old file or the complete new
/// one, and a failure leaves the old file untouched.
/// </summary>
public static class AtomicFile
{
    /// <param name="write">writes the new content to the temporary path it is given (which keeps the target's extension)</param>
    public static void Write(string path, Action<string> write)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = Path.Combine(Path.GetDirectoryName(full)!, $"{Path.GetFileNameWithoutExtension(full)}.tmp-{Guid.NewGuid():N}{Path.GetExtension(full)}");
        try
        {
            write(temp);
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    public static void WriteAllText(string path, string content) => Write(path, temp => File.WriteAllText(temp, content));
}
