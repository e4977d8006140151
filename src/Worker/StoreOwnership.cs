namespace DesMoe.Worker;

/// <summary>
/// The check the worker makes before each write into the server's model store: the server that started it must still
/// own the store (its token is in the store's owner file) and the staging folder it handed over must still be there.
/// A worker that somehow outlived its server therefore never writes into the store of the server's next life, which
/// cleans that folder up.
/// </summary>
public static class StoreOwnership
{
    public static void Ensure(string ownerFile, string ownerToken, string stagingFolder)
    {
        string? owner = File.Exists(ownerFile) ? File.ReadAllText(ownerFile).Trim() : null;
        if (owner != ownerToken)
            throw new InvalidOperationException($"the server that started this worker no longer owns {Path.GetDirectoryName(ownerFile)}; nothing was written");
        if (!Directory.Exists(stagingFolder))
            throw new InvalidOperationException($"the staging folder {stagingFolder} is gone; nothing was written");
    }
}
