using DesMoe.Formats.Data.Domains;

namespace DesMoe.Formats.Data;

/// <summary>The built-in example generators, by name.</summary>
public static class DomainCatalog
{
    public const string GeneralName = "general";

    /// <summary>The six adaptation domains, in the order experiments add them (2, 4, 6 domains take prefixes).</summary>
    public static IReadOnlyList<IExampleGenerator> Domains { get; } =
    [
        new MathGenerator(), new CodeGenerator(), new LawGenerator(),
        new TranslationGenerator(), new SummarizationGenerator(), new IntentGenerator(),
    ];

    public static IExampleGenerator General { get; } = new GeneralGenerator();

    public static IEnumerable<string> Names => Domains.Select(d => d.Domain).Append(GeneralName);

    public static IExampleGenerator Get(string name) =>
        name == GeneralName
            ? General
            : Domains.FirstOrDefault(d => d.Domain == name)
              ?? throw new KeyNotFoundException($"unknown domain '{name}'; known domains: {string.Join(", ", Names)}");
}
