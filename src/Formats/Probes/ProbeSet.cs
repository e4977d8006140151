namespace DesMoe.Formats.Probes;

/// <summary>The general probes a model folder carries (<see cref="ProbeFolder"/>) and what made them.</summary>
/// <param name="MadeBy">the command that wrote them, e.g. <c>desmoe pretrain</c></param>
public sealed record ProbeSet(IReadOnlyList<HeldOutProbe> Probes, string MadeBy)
{
    /// <summary>One line for job records and logs: the probes, their sizes and their origin.</summary>
    public string Describe() =>
        $"the model folder's {ProbeFolder.FolderName}/ probes ({string.Join(", ", Probes.Select(p => $"{p.Name} {p.Examples.Count}"))}; made by {MadeBy})";
}
