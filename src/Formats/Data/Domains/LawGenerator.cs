namespace DesMoe.Formats.Data.Domains;

/// <summary>
/// Applying a small generated legal code to a case. The code (offence -> base penalty) is fixed by
/// <see cref="CodeSeed"/> so that training and held-out sets share it. Modifiers, applied in this order: each prior
/// conviction adds the base penalty again, a weapon adds 2, a minor offender gets half (rounded down, at least 1).
/// The defendant's name is a distractor that makes the held-out cases new prompts.
/// </summary>
public sealed class LawGenerator : IExampleGenerator
{
    public const int CodeSeed = 2509;
    private static readonly string[] Offences = ["theft", "fraud", "arson", "assault", "trespass", "vandalism", "bribery", "perjury"];
    private static readonly string[] Defendants = ["Ada", "Bo", "Cleo", "Dana", "Eli", "Finn", "Gus", "Hana", "Ivo", "Jin", "Kai", "Lena"];

    public LawGenerator()
    {
        var random = new Random(CodeSeed);
        Code = Offences.ToDictionary(o => o, _ => (Kind: random.Next(2) == 0 ? "fine" : "jail", Amount: random.Next(1, 6)));
    }

    /// <summary>The generated legal code: each offence's penalty kind and base amount.</summary>
    public IReadOnlyDictionary<string, (string Kind, int Amount)> Code { get; }

    public string Domain => "law";
    public string Description => "apply the clauses of a generated penal code to a case";

    public Example Next(Random random)
    {
        var offence = random.Pick(Offences);
        int priors = random.Next(4);
        bool weapon = random.Next(3) == 0, minor = random.Next(4) == 0;
        var (kind, amount) = Code[offence];
        amount *= 1 + priors;
        if (weapon) amount += 2;
        if (minor) amount = Math.Max(1, amount / 2);

        var facts = new List<string> { random.Pick(Defendants), offence, $"{priors} priors" };
        if (weapon) facts.Add("armed");
        if (minor) facts.Add("minor");
        var prompt = "case: " + string.Join(", ", facts);
        return new Example(prompt, $"{kind} {amount}");
    }
}
