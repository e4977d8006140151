namespace DesMoe.Formats.Data.Domains;

internal static class RandomExtensions
{
    public static T Pick<T>(this Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];

    public static string Letters(this Random random, int minLength, int maxLength, string alphabet = "abcdefghijklmnopqrstuvwxyz")
    {
        var chars = new char[random.Next(minLength, maxLength + 1)];
        for (int i = 0; i < chars.Length; i++) chars[i] = alphabet[random.Next(alphabet.Length)];
        return new string(chars);
    }
}
