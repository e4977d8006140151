namespace DesMoe.Formats.Hub;

/// <summary>This process's resident memory from /proc (Linux): now, and the peak so far (VmHWM).</summary>
public static class PeakMemory
{
    public static long ResidentBytes => Read("VmRSS:");
    public static long PeakResidentBytes => Read("VmHWM:");

    private static long Read(string field)
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status)) return -1;
        foreach (var line in File.ReadLines(status))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return long.Parse(line[field.Length..].Trim().Split(' ')[0]) * 1024; // kB
        return -1;
    }
}
