using DesMoe.Torch.Checkpoints;
using DesMoe.Formats.Data;
using DesMoe.Formats.Evaluation;
using DesMoe.Torch.Evaluation;
using DesMoe.Formats.Experts;
using DesMoe.Torch.Model;
using DesMoe.Onnx;
using DesMoe.Formats.Tokenization;
using DesMoe.Exporter.Export;
using DesMoe.Exporter.Graph;
using DesMoe.Tests.Support;
using Microsoft.ML.OnnxRuntime;
using Xunit;

namespace DesMoe.Tests.Export;

public sealed class ExportParityTests(ExportFixture fixture) : IClassFixture<ExportFixture>
{
    public static TheoryData<ExpertKernel> Kernels => new(Enum.GetValues<ExpertKernel>());

    [Theory]
    [MemberData(nameof(Kernels))]
    public void Random_prompts_match_torchsharp_logits_in_prefill_and_decode_for_every_domain(ExpertKernel kernel)
    {
        using var loaded = ModelFolder.Load(fixture.ModelFolder);
        using var routing = new DomainRouting(fixture.Assignment.RoutingTable(loaded.Config.TopK, NoDomainRouting.AllExperts), loaded.Config.TopK);
        using var decoder = OnnxDecoder.Load(fixture.Exports[kernel].ModelPath);
        var random = new Random(42);
        var prompts = Enumerable.Range(0, 3)
            .Select(_ => (IReadOnlyList<int>)Enumerable.Range(0, random.Next(3, 40)).Select(_ => random.Next(256)).ToList()).ToList();

        var parity = ExportCheck.Run(loaded.Model, routing, decoder, prompts, decodeSteps: 6);

        Assert.Equal(new[] { -1, 0, 1 }, parity.Select(p => p.DomainId));
        Assert.All(parity, p => Assert.InRange(p.MaxAbsError, 0, 1e-4));
    }

    [Theory]
    [MemberData(nameof(Kernels))]
    public void Domain_ids_change_routing_inside_the_graph(ExpertKernel kernel)
    {
        using var decoder = OnnxDecoder.Load(fixture.Exports[kernel].ModelPath);
        long[] prompt = [259, 49, 50, 43, 51, 52, 61, 258];
        float[] Logits(long domain)
        {
            using var cache = decoder.EmptyCache(1);
            using var output = decoder.Run(new OnnxStepInput(1, prompt.Length, prompt, Enumerable.Repeat(1L, prompt.Length).ToArray(),
                Enumerable.Range(0, prompt.Length).Select(i => (long)i).ToArray(), [domain]), cache);
            return output.Logits.ToArray();
        }

        var none = Logits(ExpertAssignment.NoDomain);
        var math = Logits(0);
        var law = Logits(1);

        Assert.True(none.Zip(math).Max(p => Math.Abs(p.First - p.Second)) > 1e-2, "math routing left the logits unchanged");
        Assert.True(math.Zip(law).Max(p => Math.Abs(p.First - p.Second)) > 1e-2, "math and law route identically");
    }

    [Fact]
    public void A_batch_mixing_domains_and_prompt_lengths_matches_each_sequence_run_alone()
    {
        using var decoder = OnnxDecoder.Load(fixture.Exports[ExpertKernel.ContribMoe].ModelPath);
        var tokenizer = decoder.Info.Tokenizer;
        var prompts = new[] { "12+35=", "a much longer prompt about the law", "x" }
            .Select(p => (IReadOnlyList<int>)PromptFormat.EncodePrompt(tokenizer, p)).ToList();
        long[] domains = [0, 1, ExpertAssignment.NoDomain];
        var layout = LeftPaddedBatch.Create(prompts, tokenizer.Special.Pad);

        using var batchCache = decoder.EmptyCache(prompts.Count);
        using var batched = decoder.Run(new OnnxStepInput(prompts.Count, layout.Longest, layout.Ids,
            layout.Mask.Select(m => m ? 1L : 0L).ToArray(), layout.Positions, domains), batchCache);

        for (int row = 0; row < prompts.Count; row++)
        {
            var alone = prompts[row].Select(t => (long)t).ToArray();
            using var cache = decoder.EmptyCache(1);
            using var single = decoder.Run(new OnnxStepInput(1, alone.Length, alone, Enumerable.Repeat(1L, alone.Length).ToArray(),
                Enumerable.Range(0, alone.Length).Select(i => (long)i).ToArray(), [domains[row]]), cache);
            var expected = single.LastLogits(0).ToArray();
            var actual = batched.LastLogits(row).ToArray();
            Assert.InRange(expected.Zip(actual).Max(p => Math.Abs(p.First - p.Second)), 0, 1e-4);
        }
    }

    [Theory]
    [InlineData(ExpertAssignment.NoDomain)]
    [InlineData(0)]
    [InlineData(1)]
    public void Greedy_generation_through_onnx_runtime_equals_the_torchsharp_text(int domainId)
    {
        using var loaded = ModelFolder.Load(fixture.ModelFolder);
        using var routing = new DomainRouting(fixture.Assignment.RoutingTable(loaded.Config.TopK, NoDomainRouting.AllExperts), loaded.Config.TopK);
        using var decoder = OnnxDecoder.Load(fixture.Exports[ExpertKernel.ContribMoe].ModelPath);
        var prompts = GeneralSet.HeldOut(8).Select(e => (IReadOnlyList<int>)PromptFormat.EncodePrompt(loaded.Tokenizer, e.Prompt)).ToList();

        var reference = GreedyDecoder.Generate(loaded.Model, loaded.Tokenizer.Special, prompts, 24, domainId, routing);
        var exported = OnnxGreedyDecoder.Generate(decoder, decoder.Info.Tokenizer.Special, prompts, 24, domainId);

        Assert.Equal(reference.Select(r => loaded.Tokenizer.Decode(r)), exported.Select(r => loaded.Tokenizer.Decode(r)));
        Assert.Contains(reference, r => r.Count > 0);
    }

    [Fact]
    public void Metadata_carries_domains_config_tokenizer_and_source_hash()
    {
        using var decoder = OnnxDecoder.Load(fixture.Exports[ExpertKernel.ContribMoe].OutputFolder);
        var config = DesMoe.Formats.Config.MoeConfig.Load(Path.Combine(fixture.ModelFolder, DesMoe.Formats.Config.MoeConfig.FileName));

        Assert.Equal(ExportFixture.Domains, decoder.Info.Domains);
        Assert.Equal(config, decoder.Info.Config);
        Assert.Equal("byte", decoder.Info.Tokenizer.Name);
        Assert.Equal(DesMoe.Formats.Files.ModelFiles.WeightsSha256(fixture.ModelFolder), decoder.Info.Metadata[OnnxMetadataKeys.SourceSha256]);
        Assert.Equal(1, decoder.Info.DomainId("law"));
        Assert.Equal(ExpertAssignment.NoDomain, decoder.Info.DomainId(""));
        var unknown = Assert.Throws<KeyNotFoundException>(() => decoder.Info.DomainId("poetry"));
        Assert.Contains("math, law", unknown.Message);
        Assert.Equal(OnnxSessionFactory.CpuProvider, decoder.ExecutionProvider);
    }

    [Fact]
    public void Export_folder_holds_tokenizer_config_assignment_and_manifest()
    {
        var result = fixture.Exports[ExpertKernel.ContribMoe];
        foreach (var file in new[] { OnnxNames.ModelFileName, TokenizerFile.FileName, DesMoe.Formats.Config.MoeConfig.FileName, ExpertAssignment.FileName, ExportManifest.FileName })
            Assert.True(File.Exists(Path.Combine(result.OutputFolder, file)), $"{file} missing");
        Assert.Equal(new FileInfo(result.ModelPath).Length, result.Manifest.ModelBytes);
        Assert.Equal(3, result.Manifest.ParityMaxAbsError.Count);
        Assert.Equal(21, result.Manifest.Opset);
    }

    [Fact]
    public void Domain_ids_input_is_optional_and_defaults_to_the_no_domain_path()
    {
        var path = fixture.Exports[ExpertKernel.ContribMoe].ModelPath;
        using var decoder = OnnxDecoder.Load(path);
        long[] prompt = [259, 104, 105, 258];
        using var cache = decoder.EmptyCache(1);
        using var withDomain = decoder.Run(new OnnxStepInput(1, 4, prompt, [1, 1, 1, 1], [0, 1, 2, 3], [ExpertAssignment.NoDomain]), cache);

        using var session = new InferenceSession(path);
        var inputs = new Dictionary<string, OrtValue>
        {
            [OnnxNames.InputIds] = OrtValue.CreateTensorValueFromMemory(prompt, [1, 4]),
            [OnnxNames.AttentionMask] = OrtValue.CreateTensorValueFromMemory(new long[] { 1, 1, 1, 1 }, [1, 4]),
            [OnnxNames.PositionIds] = OrtValue.CreateTensorValueFromMemory(new long[] { 0, 1, 2, 3 }, [1, 4]),
        };
        var config = decoder.Info.Config;
        for (int l = 0; l < config.NumLayers; l++)
        {
            inputs[OnnxNames.PastKey(l)] = OrtValue.CreateTensorValueFromMemory(Array.Empty<float>(), [1, config.NumKvHeads, 0, config.HeadDim]);
            inputs[OnnxNames.PastValue(l)] = OrtValue.CreateTensorValueFromMemory(Array.Empty<float>(), [1, config.NumKvHeads, 0, config.HeadDim]);
        }
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, inputs, [OnnxNames.Logits]);
        var withoutDomain = outputs[0].GetTensorDataAsSpan<float>().ToArray();

        Assert.Equal(withDomain.Logits.ToArray(), withoutDomain);
        foreach (var v in inputs.Values) v.Dispose();
    }

    [Fact]
    public void Float16_weights_halve_the_file_and_still_match_the_rounded_model()
    {
        var result = ModelExporter.Export(fixture.ModelFolder, fixture.NewPath("fp16"), new ExportOptions { Precision = WeightPrecision.Float16 });

        Assert.True(result.Manifest.ModelBytes < fixture.Exports[ExpertKernel.ContribMoe].Manifest.ModelBytes * 0.6);
        Assert.All(result.Manifest.ParityMaxAbsError.Values, e => Assert.InRange(e, 0, ModelExporter.Tolerance));
    }

    [Theory]
    [MemberData(nameof(Kernels))]
    public void Models_without_shared_experts_or_renormalisation_export_exactly(ExpertKernel kernel)
    {
        using var dir = new TempDirectory();
        var config = TinyModels.Config(experts: 6, topK: 2, shared: 0) with { NormalizeTopKProbabilities = false };
        using var model = TinyModels.Create(seed: 3, config);
        DesMoe.Torch.Checkpoints.ModelFolder.Save(dir.File("tiny"), model, new ByteTokenizer());

        var result = ModelExporter.Export(dir.File("tiny"), dir.File("onnx"), new ExportOptions { Experts = kernel });

        Assert.All(result.Manifest.ParityMaxAbsError.Values, e => Assert.InRange(e, 0, ModelExporter.Tolerance));
    }

    [Theory]
    [MemberData(nameof(Kernels))]
    public void An_adaptive_router_exports_with_its_trained_residual(ExpertKernel kernel)
    {
        using var dir = new TempDirectory();
        using var model = TinyModels.Create(seed: 4, TinyModels.Config(experts: 6, topK: 2));
        model.EnableAdaptiveRouter(4 * model.Config.HiddenSize);
        // A trained residual: non-zero everywhere, large enough to change which experts win.
        using (TorchSharp.torch.no_grad())
            foreach (var (name, parameter) in model.named_parameters().Where(p => p.name.Contains(".router.adapter.")))
                parameter.copy_(TorchSharp.torch.randn_like(parameter));
        DesMoe.Torch.Checkpoints.ModelFolder.Save(dir.File("adaptive"), model, new ByteTokenizer());

        var result = ModelExporter.Export(dir.File("adaptive"), dir.File("onnx"), new ExportOptions { Experts = kernel });

        Assert.Equal(4 * 32, DesMoe.Formats.Config.MoeConfig.Load(Path.Combine(dir.File("adaptive"), "config.json")).AdaptiveRouterWidth);
        Assert.All(result.Manifest.ParityMaxAbsError.Values, e => Assert.InRange(e, 0, ModelExporter.Tolerance));
    }

    [Theory]
    [InlineData(ExpertQuantization.Int8, 0.35)]
    [InlineData(ExpertQuantization.Int4, 0.25)]
    public void Quantized_experts_shrink_the_file_and_match_the_dequantized_model(ExpertQuantization quantization, double maxSizeRatio)
    {
        var fp32 = ModelExporter.Export(fixture.ModelFolder, fixture.NewPath($"fp32-standard-{quantization}"), new ExportOptions { Experts = ExpertKernel.StandardOps });
        var result = ModelExporter.Export(fixture.ModelFolder, fixture.NewPath($"q-{quantization}"),
            new ExportOptions { Experts = ExpertKernel.StandardOps, Quantization = quantization });

        // The routed experts are most of the bundled model's weights; the rest stays fp32.
        Assert.InRange(result.Manifest.ModelBytes, 1, (long)(fp32.Manifest.ModelBytes * (maxSizeRatio + 0.35)));
        Assert.Equal(quantization.ToString(), result.Manifest.ExpertQuantization);
        Assert.All(result.Manifest.ParityMaxAbsError.Values, e => Assert.InRange(e, 0, ModelExporter.Tolerance));
        using var session = new InferenceSession(result.ModelPath);
        Assert.Equal(quantization.ToString(), session.ModelMetadata.CustomMetadataMap[OnnxMetadataKeys.ExpertQuantization]);
    }

    /// <summary>
    /// Int8 compute (accuracy_level 4) really rounds the activations, so the graph leaves fp32's 1e-4 (proof that the
    /// attribute reached ONNX Runtime), but stays within its bound relative to the logits' scale, and says so.
    /// </summary>
    [Theory]
    [InlineData(ExpertQuantization.Int8)]
    [InlineData(ExpertQuantization.Int4)]
    public void Int8_compute_rounds_the_activations_within_its_relative_bound(ExpertQuantization quantization)
    {
        var result = ModelExporter.Export(fixture.ModelFolder, fixture.NewPath($"q8c-{quantization}"),
            new ExportOptions { Experts = ExpertKernel.StandardOps, Quantization = quantization, QuantizedCompute = QuantizedCompute.Int8 });

        var m = result.Manifest;
        Assert.All(m.ParityMaxAbsError, kv => Assert.InRange(kv.Value, 0, ModelExporter.Int8ComputeTolerance * m.ParityMaxAbsLogit[kv.Key]));
        Assert.True(m.ParityMaxAbsError.Values.Max() > ModelExporter.Tolerance, $"max |error| {m.ParityMaxAbsError.Values.Max():E2}: the activations were not rounded");
        Assert.Equal("Int8", m.QuantizedCompute);
        using var session = new InferenceSession(result.ModelPath);
        Assert.Equal("Int8", session.ModelMetadata.CustomMetadataMap[OnnxMetadataKeys.QuantizedCompute]);
    }

    /// <summary>Quantized experts need the StandardOps kernel (the contrib MoE op takes float weights); int8 compute needs quantized experts.</summary>
    public static TheoryData<string, ExportOptions, string> RefusedOptions => new()
    {
        { "q-contrib", new ExportOptions { Experts = ExpertKernel.ContribMoe, Quantization = ExpertQuantization.Int4 }, "need the StandardOps expert kernel" },
        { "q8c-fp32", new ExportOptions { Experts = ExpertKernel.StandardOps, QuantizedCompute = QuantizedCompute.Int8 }, "--quantize-experts Int8 or Int4" },
    };

    [Theory]
    [MemberData(nameof(RefusedOptions))]
    public void Options_that_do_not_go_together_are_refused_with_the_reason_and_nothing_is_written(string folder, ExportOptions options, string reason)
    {
        var error = Assert.Throws<ArgumentException>(() => ModelExporter.Export(fixture.ModelFolder, fixture.NewPath(folder), options));
        Assert.Contains(reason, error.Message);
        Assert.False(Directory.Exists(fixture.NewPath(folder)));
    }
}
