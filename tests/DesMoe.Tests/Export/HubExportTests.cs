using DesMoe.Formats.Architectures;
using DesMoe.Formats.Hub;
using DesMoe.Torch.Checkpoints;
using DesMoe.Onnx;
using DesMoe.Exporter.Export;
using DesMoe.Exporter.Graph;
using DesMoe.Tests.Architectures;
using DesMoe.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace DesMoe.Tests.Export;

/// <summary>Each trainable hub architecture exported to ONNX with two routed domains, checked against TorchSharp by ONNX Runtime.</summary>
public class HubExportTests(ITestOutputHelper output)
{
    public static TheoryData<string, ExpertKernel> Cases
    {
        get
        {
            var cases = new TheoryData<string, ExpertKernel>();
            foreach (var model in HubTrainableTests.TrainableModels)
            foreach (var kernel in Enum.GetValues<ExpertKernel>())
                cases.Add(model, kernel);
            return cases;
        }
    }

    /// <summary>A copy of a fixture with math on experts 0-1 and law on 2-3 in every layer.</summary>
    public static string TwoDomainCopy(string model, TempDirectory dir)
    {
        var folder = dir.File(model);
        HubFixtures.CopyFolder(model, folder);
        ExportParity.AssignEveryLayer(folder, ("math", [0, 1]), ("law", [2, 3]));
        return folder;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Exported_graph_matches_torchsharp_for_every_domain_in_prefill_and_decode(string model, ExpertKernel kernel)
    {
        using var dir = new TempDirectory();
        var folder = TwoDomainCopy(model, dir);

        var result = ModelExporter.Export(folder, dir.File("onnx"), new ExportOptions { Experts = kernel });

        // The exporter's own check (3 domain ids, prefill + 4 decode steps) refuses anything over 1e-4; here the
        // same comparison on longer random prompts.
        Assert.Equal(["(none)", "law", "math"], result.Manifest.ParityMaxAbsError.Keys.Order());
        var parity = ExportParity.OnRandomPrompts(folder, result.ModelPath, seed: 7, maxLength: 30);
        ExportParity.AssertWithin(parity, 1e-4, output, $"{model} {kernel}");
    }

    [Fact]
    public void The_export_carries_the_hub_tokenizer_to_the_server_and_other_tools()
    {
        using var dir = new TempDirectory();
        var result = ModelExporter.Export(HubFixtures.Folder("mixtral"), dir.File("onnx"), new ExportOptions());

        // The folder's tokenizer.json is the hub's own (what ONNX Runtime GenAI reads) ...
        Assert.Equal(File.ReadAllText(Path.Combine(HubFixtures.Folder("mixtral"), HubFolder.TokenizerFileName)),
            File.ReadAllText(Path.Combine(result.OutputFolder, HubFolder.TokenizerFileName)));
        // ... and the model's metadata gives the server the same tokenizer with its control roles.
        using var decoder = OnnxDecoder.Load(result.ModelPath);
        var info = decoder.Info;
        using var loaded = ModelFolder.Load(HubFixtures.Folder("mixtral"));
        Assert.Equal(loaded.Tokenizer.Special, info.Tokenizer.Special);
        const string Text = "Héllo wörld, 12345 ☃";
        Assert.Equal(loaded.Tokenizer.Encode(Text), info.Tokenizer.Encode(Text));
        Assert.Equal("mixtral", info.Config.SourceModelType);
        Assert.False(HubModelFolder.IsHubFolder(result.OutputFolder), "the export's config.json must not read as a hub config");
        // ... and tools that read the folder rather than the model (desmoe-bench peer) find the same in desmoe_tokenizer.json.
        var fromFolder = DesMoe.Formats.Tokenization.TokenizerFile.LoadFromExport(result.OutputFolder);
        Assert.Equal(loaded.Tokenizer.Special, fromFolder.Special);
        Assert.Equal(loaded.Tokenizer.Encode(Text), fromFolder.Encode(Text));
    }

    [Fact]
    public void External_data_keeps_the_weights_beside_a_small_graph_and_matches_the_inline_export()
    {
        using var dir = new TempDirectory();
        var folder = TwoDomainCopy("qwen3_moe", dir);

        var external = ModelExporter.Export(folder, dir.File("external"), new ExportOptions { ExternalData = true });
        var inline = ModelExporter.Export(folder, dir.File("inline"), new ExportOptions { ExternalData = false });
        // Weights converted and written a few rows at a time (every linear weight in several blocks) make the same file.
        var blocked = ModelExporter.Export(folder, dir.File("blocked"), new ExportOptions { ExternalData = true, WeightBlockBytes = 1000 });
        Assert.Equal(File.ReadAllBytes(Path.Combine(external.OutputFolder, OnnxNames.ExternalDataFileName)),
            File.ReadAllBytes(Path.Combine(blocked.OutputFolder, OnnxNames.ExternalDataFileName)));
        Assert.Equal(File.ReadAllBytes(external.ModelPath), File.ReadAllBytes(blocked.ModelPath));

        var graphBytes = new FileInfo(external.ModelPath).Length;
        var dataBytes = new FileInfo(Path.Combine(external.OutputFolder, OnnxNames.ExternalDataFileName)).Length;
        output.WriteLine($"graph {graphBytes:N0} B + data {dataBytes:N0} B; inline {new FileInfo(inline.ModelPath).Length:N0} B");
        Assert.Equal(OnnxNames.ExternalDataFileName, external.Manifest.ExternalDataFile);
        Assert.Null(inline.Manifest.ExternalDataFile);
        Assert.False(File.Exists(Path.Combine(inline.OutputFolder, OnnxNames.ExternalDataFileName)));
        Assert.True(dataBytes > 4 * ParameterCount(folder) * 0.9, "the weights are not in the data file");
        Assert.True(graphBytes < dataBytes / 10, "the graph still holds the weights");

        using var a = OnnxDecoder.Load(external.ModelPath);
        using var b = OnnxDecoder.Load(inline.ModelPath);
        long[] prompt = [5, 17, 300, 42, 8];
        float[] Logits(OnnxDecoder decoder, long domain)
        {
            using var cache = decoder.EmptyCache(1);
            using var step = decoder.Run(new OnnxStepInput(1, prompt.Length, prompt, Enumerable.Repeat(1L, prompt.Length).ToArray(),
                Enumerable.Range(0, prompt.Length).Select(i => (long)i).ToArray(), [domain]), cache);
            return step.Logits.ToArray();
        }
        foreach (var domain in new long[] { -1, 0, 1 })
            Assert.Equal(Logits(b, domain), Logits(a, domain));
    }

    private static long ParameterCount(string folder)
    {
        using var loaded = ModelFolder.Load(folder);
        return loaded.Model.ParameterCount();
    }
}
