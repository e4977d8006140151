using System.Reflection;
using DesMoe.Build;
using Xunit;

namespace DesMoe.Tests.Native;

public class ElfVersionNeedPatcherTests
{
    private const string LibStdCxx = "libstdc++.so.6";
    private const string NewVersion = "GLIBCXX_3.4.32";

    private static byte[] PristineLibTorchSharp()
    {
        var root = typeof(ElfVersionNeedPatcherTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "NuGetPackageRoot").Value!;
        var path = Path.Combine(root, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(path), $"TorchSharp's native library not found in the NuGet cache at {path}");
        return File.ReadAllBytes(path);
    }

    private static HashSet<string> Debian12Versions(byte[] elf) =>
        ElfVersionNeedPatcher.ReadVersionNeeds(elf).Select(n => n.Version).Where(v => v != NewVersion).ToHashSet();

    [Fact]
    public void Packaged_library_needs_glibcxx_3_4_32_only_for_the_marker_symbol()
    {
        var elf = PristineLibTorchSharp();
        var need = Assert.Single(ElfVersionNeedPatcher.ReadVersionNeeds(elf), n => n.Version == NewVersion);
        Assert.Equal(LibStdCxx, need.File);
        Assert.Equal(["_ZSt21ios_base_library_initv"], ElfVersionNeedPatcher.SymbolsBoundToVersion(elf, need.Index));
    }

    [Fact]
    public void Patch_repoints_the_missing_version_and_changes_nothing_else()
    {
        var original = PristineLibTorchSharp();
        var patched = (byte[])original.Clone();

        var result = ElfVersionNeedPatcher.Patch(patched, LibStdCxx, Debian12Versions(original));

        Assert.True(result.Changed);
        var needs = ElfVersionNeedPatcher.ReadVersionNeeds(patched);
        Assert.DoesNotContain(needs, n => n.Version == NewVersion);
        Assert.Equal(ElfVersionNeedPatcher.ReadVersionNeeds(original).Count, needs.Count);
        var changedBytes = Enumerable.Range(0, original.Length).Count(i => original[i] != patched[i]);
        Assert.InRange(changedBytes, 1, 8); // only vna_hash and vna_name of one entry
    }

    [Fact]
    public void Patch_is_a_no_op_where_the_system_defines_every_needed_version()
    {
        var original = PristineLibTorchSharp();
        var copy = (byte[])original.Clone();
        var everything = ElfVersionNeedPatcher.ReadVersionNeeds(original).Select(n => n.Version).ToHashSet();

        var result = ElfVersionNeedPatcher.Patch(copy, LibStdCxx, everything);

        Assert.False(result.Changed);
        Assert.Equal(original, copy);
    }

    [Fact]
    public void Patch_refuses_when_a_real_symbol_needs_the_missing_version()
    {
        var elf = PristineLibTorchSharp();
        var withoutCondVarVersion = Debian12Versions(elf);
        withoutCondVarVersion.Remove("GLIBCXX_3.4.30"); // std::condition_variable::wait is bound to it

        var error = Assert.Throws<InvalidOperationException>(() => ElfVersionNeedPatcher.Patch(elf, LibStdCxx, withoutCondVarVersion));
        Assert.Contains("condition_variable", error.Message);
    }

    [Fact]
    public void PatchFile_replaces_the_file_instead_of_writing_through_links()
    {
        using var dir = new Support.TempDirectory();
        var original = PristineLibTorchSharp();
        var target = dir.File("libLibTorchSharp.so");
        File.WriteAllBytes(target, original);
        var hardLinkStandIn = dir.File("kept.so");
        File.Copy(target, hardLinkStandIn);

        ElfVersionNeedPatcher.PatchFile(target, LibStdCxx, Debian12Versions(original));

        Assert.DoesNotContain(ElfVersionNeedPatcher.ReadVersionNeeds(File.ReadAllBytes(target)), n => n.Version == NewVersion);
        Assert.Equal(original, File.ReadAllBytes(hardLinkStandIn));
        Assert.False(File.Exists(target + ".patching"));
    }

    [Fact]
    public void Build_output_copy_loads_on_this_machine()
    {
        var system = new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6" }.FirstOrDefault(File.Exists);
        Assert.NotNull(system);
        var available = ElfVersionNeedPatcher.ReadVersionDefinitions(File.ReadAllBytes(system));
        var output = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

        var needs = ElfVersionNeedPatcher.ReadVersionNeeds(File.ReadAllBytes(output)).Where(n => n.File == LibStdCxx);

        Assert.All(needs, n => Assert.Contains(n.Version, available));
        using var t = TorchSharp.torch.ones(2, 2);
        Assert.Equal(4f, t.sum().item<float>());
    }

    [Fact]
    public void Elf_hash_agrees_with_the_hashes_the_linker_recorded()
    {
        var needs = ElfVersionNeedPatcher.ReadVersionNeeds(PristineLibTorchSharp());
        Assert.NotEmpty(needs);
        Assert.All(needs, n => Assert.Equal(n.Hash, ElfVersionNeedPatcher.ElfHash(n.Version)));
    }

    [Fact]
    public void Patched_entry_carries_the_hash_of_its_new_name()
    {
        var elf = PristineLibTorchSharp();
        ElfVersionNeedPatcher.Patch(elf, LibStdCxx, Debian12Versions(elf));
        Assert.All(ElfVersionNeedPatcher.ReadVersionNeeds(elf), n => Assert.Equal(ElfVersionNeedPatcher.ElfHash(n.Version), n.Hash));
    }
}
