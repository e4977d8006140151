namespace DesMoe.Core.Checkpoints;

/// <summary>The small base model committed under <c>models/base</c> and copied next to every program that references Core.</summary>
public static class BundledModel
{
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "models", "base");
}
