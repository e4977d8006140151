namespace DesMoe.Formats.Data.Domains;

/// <summary>
/// The general skills the base model is pre-trained on and that measure forgetting: short string operations
/// (copy, reverse, upper-case, sort digits, length, last character).
/// </summary>
public sealed class GeneralGenerator : IExampleGenerator
{
    public string Domain => "general";
    public string Description => "string operations: copy, reverse, upper, sort, length, last";

    public Example Next(Random random)
    {
        switch (random.Next(6))
        {
            case 0:
            {
                var s = random.Letters(3, 8);
                return new Example($"copy {s}", s);
            }
            case 1:
            {
                var s = random.Letters(3, 7);
                return new Example($"reverse {s}", new string(s.Reverse().ToArray()));
            }
            case 2:
            {
                var s = random.Letters(3, 8);
                return new Example($"upper {s}", s.ToUpperInvariant());
            }
            case 3:
            {
                var s = random.Letters(3, 6, "0123456789");
                return new Example($"sort {s}", new string(s.Order().ToArray()));
            }
            case 4:
            {
                var s = random.Letters(1, 9);
                return new Example($"length {s}", s.Length.ToString());
            }
            default:
            {
                var s = random.Letters(2, 8);
                return new Example($"last {s}", s[^1].ToString());
            }
        }
    }
}
