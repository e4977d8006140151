namespace DesMoe.Formats.Data;

/// <summary>A deterministic source of exactly checkable examples for one domain: same seed, same examples.</summary>
public interface IExampleGenerator
{
    string Domain { get; }
    string Description { get; }
    Example Next(Random random);
}
