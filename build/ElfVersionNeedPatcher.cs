// Compiled twice: by MSBuild's RoslynCodeTaskFactory as the PatchElfVersionNeeds task (see
// LibTorchSharpGlibcxxFix.targets), and into the test project with DESMOE_NO_MSBUILD defined so the
// patch logic is unit-tested without an MSBuild dependency.
//
// Why this exists: TorchSharp 0.107's libLibTorchSharp.so was linked with GCC 13 and records a version
// need on GLIBCXX_3.4.32 that Debian 12's libstdc++ (3.4.30) lacks, so dlopen fails. The only symbol
// bound to that version is std::ios_base_library_init, a marker GCC 13 headers reference to force the
// newer libstdc++; nothing calls it. Re-pointing that single version-need entry at a version the system
// does define lets the library load. We refuse to patch when any other symbol depends on the missing
// version, because then the library genuinely needs the newer runtime.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace DesMoe.Build
{
    // Plain classes, not records: RoslynCodeTaskFactory compiles this file against netstandard2.0.
    public sealed class ElfVersionNeed
    {
        public ElfVersionNeed(string file, string version, uint hash, ushort index, int auxOffset)
        {
            File = file; Version = version; Hash = hash; Index = index; AuxOffset = auxOffset;
        }
        public string File { get; }
        public string Version { get; }
        /// <summary>The ELF hash of <see cref="Version"/> as recorded by the linker.</summary>
        public uint Hash { get; }
        public ushort Index { get; }
        public int AuxOffset { get; }
    }

    public sealed class ElfPatchResult
    {
        public ElfPatchResult(bool changed, IReadOnlyList<string> replacements)
        {
            Changed = changed; Replacements = replacements;
        }
        public bool Changed { get; }
        public IReadOnlyList<string> Replacements { get; }
    }

    public static class ElfVersionNeedPatcher
    {
        /// <summary>Symbols that only mark a libstdc++ version and are never called.</summary>
        public static readonly IReadOnlyCollection<string> MarkerOnlySymbols = new[] { "_ZSt21ios_base_library_initv" };

        private const uint ShtDynsym = 11;
        private const uint ShtGnuVerdef = 0x6ffffffd;
        private const uint ShtGnuVerneed = 0x6ffffffe;
        private const uint ShtGnuVersym = 0x6fffffff;

        public static IReadOnlyList<ElfVersionNeed> ReadVersionNeeds(byte[] elf)
        {
            var image = new ElfImage(elf);
            var result = new List<ElfVersionNeed>();
            var verneed = image.FindSection(ShtGnuVerneed);
            if (verneed is null) return result;
            var strtab = image.Sections[(int)verneed.Link];
            long entry = verneed.Offset;
            for (uint i = 0; i < verneed.Info; i++)
            {
                ushort count = image.U16(entry + 2);
                string file = image.String(strtab, image.U32(entry + 4));
                long aux = entry + image.U32(entry + 8);
                for (int j = 0; j < count; j++)
                {
                    result.Add(new ElfVersionNeed(file, image.String(strtab, image.U32(aux + 8)), image.U32(aux), image.U16(aux + 6), checked((int)aux)));
                    aux += image.U32(aux + 12);
                }
                uint next = image.U32(entry + 12);
                if (next == 0) break;
                entry += next;
            }
            return result;
        }

        public static ICollection<string> ReadVersionDefinitions(byte[] elf)
        {
            var image = new ElfImage(elf);
            var result = new HashSet<string>(StringComparer.Ordinal);
            var verdef = image.FindSection(ShtGnuVerdef);
            if (verdef is null) return result;
            var strtab = image.Sections[(int)verdef.Link];
            long entry = verdef.Offset;
            for (uint i = 0; i < verdef.Info; i++)
            {
                ushort count = image.U16(entry + 6);
                long aux = entry + image.U32(entry + 12);
                for (int j = 0; j < count; j++)
                {
                    result.Add(image.String(strtab, image.U32(aux)));
                    aux += image.U32(aux + 4);
                }
                uint next = image.U32(entry + 16);
                if (next == 0) break;
                entry += next;
            }
            return result;
        }

        /// <summary>Names of the dynamic symbols whose version index is <paramref name="versionIndex"/>.</summary>
        public static IReadOnlyList<string> SymbolsBoundToVersion(byte[] elf, ushort versionIndex)
        {
            var image = new ElfImage(elf);
            var dynsym = image.FindSection(ShtDynsym);
            var versym = image.FindSection(ShtGnuVersym);
            if (dynsym is null || versym is null) return Array.Empty<string>();
            var strtab = image.Sections[(int)dynsym.Link];
            long count = (long)(dynsym.Size / 24);
            var names = new List<string>();
            for (long i = 0; i < count; i++)
            {
                ushort index = (ushort)(image.U16(versym.Offset + 2 * i) & 0x7fff);
                if (index == versionIndex) names.Add(image.String(strtab, image.U32(dynsym.Offset + 24 * i)));
            }
            return names;
        }

        /// <summary>
        /// Rewrites, in memory, every version need on <paramref name="libraryFile"/> that <paramref name="available"/>
        /// lacks and that only marker symbols use, so that it names the newest version of the same family that
        /// the system defines. Throws when a missing version is needed by a real symbol.
        /// </summary>
        public static ElfPatchResult Patch(byte[] elf, string libraryFile, ICollection<string> available)
        {
            var needs = ReadVersionNeeds(elf).Where(n => n.File == libraryFile).ToList();
            var missing = needs.Where(n => !available.Contains(n.Version)).ToList();
            var replacements = new List<string>();
            if (missing.Count == 0) return new ElfPatchResult(false, replacements);

            var image = new ElfImage(elf);
            foreach (var need in missing)
            {
                var users = SymbolsBoundToVersion(elf, need.Index);
                var real = users.Where(s => !MarkerOnlySymbols.Contains(s)).ToList();
                if (real.Count > 0)
                    throw new InvalidOperationException(
                        $"{libraryFile} version {need.Version} is missing on this system and is needed by {string.Join(", ", real)}; " +
                        "the library cannot be made to load by re-pointing the version need. Install a newer libstdc++.");

                var family = Family(need.Version);
                var target = needs
                    .Where(n => n.Version != need.Version && available.Contains(n.Version) && Family(n.Version) == family)
                    .OrderByDescending(n => VersionKey(n.Version))
                    .FirstOrDefault()
                    ?? throw new InvalidOperationException(
                        $"{libraryFile}: no other {family} version that this system defines is referenced; cannot re-point {need.Version}.");

                int targetNameOffset = checked((int)image.U32(target.AuxOffset + 8));
                image.WriteU32(need.AuxOffset, ElfHash(target.Version));
                image.WriteU32(need.AuxOffset + 8, (uint)targetNameOffset);
                replacements.Add($"{need.Version} -> {target.Version} (used only by {string.Join(", ", users)})");
            }
            return new ElfPatchResult(true, replacements);
        }

        /// <summary>Patches a file in place through a temporary file and a rename, so a hard link to the original is never modified.</summary>
        public static ElfPatchResult PatchFile(string path, string libraryFile, ICollection<string> available)
        {
            var bytes = File.ReadAllBytes(path);
            var result = Patch(bytes, libraryFile, available);
            if (!result.Changed) return result;
            var temp = path + ".patching";
            File.WriteAllBytes(temp, bytes);
            File.Replace(temp, path, null);
            return result;
        }

        public static uint ElfHash(string name)
        {
            uint h = 0;
            foreach (byte c in Encoding.ASCII.GetBytes(name))
            {
                h = (h << 4) + c;
                uint g = h & 0xf0000000;
                if (g != 0) h ^= g >> 24;
                h &= ~g;
            }
            return h;
        }

        private static string Family(string version) => version.Split('_')[0];

        private static Version VersionKey(string version)
        {
            var digits = version.Substring(version.IndexOf('_') + 1);
            return System.Version.TryParse(digits.IndexOf('.') >= 0 ? digits : digits + ".0", out var v) ? v : new Version(0, 0);
        }

        private sealed class Section
        {
            public Section(uint type, long offset, ulong size, uint link, uint info)
            {
                Type = type; Offset = offset; Size = size; Link = link; Info = info;
            }
            public uint Type { get; }
            public long Offset { get; }
            public ulong Size { get; }
            public uint Link { get; }
            public uint Info { get; }
        }

        private sealed class ElfImage
        {
            private readonly byte[] _bytes;
            public IReadOnlyList<Section> Sections { get; }

            public ElfImage(byte[] bytes)
            {
                _bytes = bytes;
                if (bytes.Length < 64 || bytes[0] != 0x7f || bytes[1] != (byte)'E' || bytes[2] != (byte)'L' || bytes[3] != (byte)'F')
                    throw new InvalidDataException("not an ELF file");
                if (bytes[4] != 2 || bytes[5] != 1)
                    throw new InvalidDataException("only 64-bit little-endian ELF is supported");
                long shoff = (long)U64(0x28);
                ushort shentsize = U16(0x3A), shnum = U16(0x3C);
                var sections = new List<Section>(shnum);
                for (int i = 0; i < shnum; i++)
                {
                    long h = shoff + (long)i * shentsize;
                    sections.Add(new Section(U32(h + 4), (long)U64(h + 24), U64(h + 32), U32(h + 40), U32(h + 44)));
                }
                Sections = sections;
            }

            public Section? FindSection(uint type) => Sections.FirstOrDefault(s => s.Type == type);
            public ushort U16(long at) => BitConverter.ToUInt16(_bytes, checked((int)at));
            public uint U32(long at) => BitConverter.ToUInt32(_bytes, checked((int)at));
            public ulong U64(long at) => BitConverter.ToUInt64(_bytes, checked((int)at));
            public void WriteU32(long at, uint value) => BitConverter.GetBytes(value).CopyTo(_bytes, checked((int)at));

            public string String(Section table, uint offset)
            {
                int start = checked((int)(table.Offset + offset));
                int end = Array.IndexOf(_bytes, (byte)0, start);
                return Encoding.ASCII.GetString(_bytes, start, end - start);
            }
        }
    }

#if !DESMOE_NO_MSBUILD
    /// <summary>MSBuild task: patches each given copy of libLibTorchSharp.so against this machine's libstdc++.</summary>
    public sealed class PatchElfVersionNeeds : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Libraries { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();

        [Microsoft.Build.Framework.Required]
        public string SystemLibrary { get; set; } = "";

        public string LibraryFile { get; set; } = "libstdc++.so.6";

        public override bool Execute()
        {
            if (!File.Exists(SystemLibrary))
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low, $"No {SystemLibrary}; nothing to patch.");
                return true;
            }
            var available = ElfVersionNeedPatcher.ReadVersionDefinitions(File.ReadAllBytes(SystemLibrary));
            foreach (var item in Libraries)
            {
                try
                {
                    var result = ElfVersionNeedPatcher.PatchFile(item.ItemSpec, LibraryFile, available);
                    foreach (var r in result.Replacements)
                        Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High, $"Patched {item.ItemSpec}: {r}");
                }
                catch (Exception e) when (e is InvalidOperationException or InvalidDataException)
                {
                    Log.LogError($"{item.ItemSpec}: {e.Message}");
                }
            }
            return !Log.HasLoggedErrors;
        }
    }
#endif
}
