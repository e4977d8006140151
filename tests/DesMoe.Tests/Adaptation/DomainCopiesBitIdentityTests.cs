using DesMoe.Exporter.Export;
using DesMoe.Exporter.Graph;
using DesMoe.Formats.Data;
using DesMoe.Formats.Experts;
using DesMoe.Formats.Evaluation;
using DesMoe.Formats.Files;
using DesMoe.Formats.Tokenization;
using DesMoe.Onnx;
using DesMoe.Tests.Export;
using DesMoe.Tests.Support;
using DesMoe.Torch.Checkpoints;
using DesMoe.Torch.Model;
using DesMoe.Trainer.Adaptation;
using Xunit;
using static TorchSharp.torch;

namespace DesMoe.Tests.Adaptation;

/// <summary>
/// Issue 30's promise: adding a domain costs every other path nothing. The bundled base model gets two domains one
/// after the other; the no-domain path's logits must stay bit-identical to the base model's, and the first domain's
/// must stay bit-identical across the second addition, in TorchSharp and in the ONNX export under both expert kernels.
/// </summary>
public sealed class DomainCopiesBitIdentityTests
{
    private static readonly string[] PromptTexts = ["12+35=", "the cat sat on the", "translate: bonjour", "def add(a, b):"];

    [Fact]
    public void Adding_domains_leaves_the_no_domain_path_and_earlier_domains_bit_identical_in_torchsharp_and_onnx()
    {
        using var dir = new TempDirectory();
        var baseFolder = dir.File("base");
        ExportFixture.CopyFolder(BundledModel.StringSkillsFolder, baseFolder);
        var kernels = Enum.GetValues<ExpertKernel>();
        var baseOnnx = kernels.ToDictionary(k => k, k => OnnxLogits(Export(baseFolder, dir.File($"base-{k}"), k), ExpertAssignment.NoDomain));

        using var loaded = ModelFolder.Load(baseFolder);
        var prompts = PromptTexts.Select(p => PromptFormat.EncodePrompt(loaded.Tokenizer, p).Select(t => (long)t).ToArray()).ToList();
        var baseTorch = prompts.Select(p => PlainLogits(loaded.Model, p)).ToList();

        var first = AddDomain(loaded, ExpertAssignment.Empty(loaded.Config.NumMoeLayers, loaded.Config.NumRoutedExperts), "intent", dir.File("first"));
        var firstTorch = TorchLogits(loaded.Model, first, prompts, domainId: 0);
        AssertBitIdentical(baseTorch, TorchLogits(loaded.Model, first, prompts, ExpertAssignment.NoDomain), "TorchSharp, no domain, after adding 'intent'");
        AssertDiffers(baseTorch, firstTorch, "TorchSharp, 'intent' against the base");
        var firstOnnx = kernels.ToDictionary(k => k, k => Export(dir.File("first"), dir.File($"first-{k}"), k));
        foreach (var k in kernels)
        {
            AssertBitIdentical(baseOnnx[k], OnnxLogits(firstOnnx[k], ExpertAssignment.NoDomain), $"ONNX {k}, no domain, after adding 'intent'");
            AssertDiffers(baseOnnx[k], OnnxLogits(firstOnnx[k], 0), $"ONNX {k}, 'intent' against the base");
            // The copied domain itself, confined to its copies, computes in the export what it computes in TorchSharp.
            AssertClose(firstTorch, OnnxLogits(firstOnnx[k], 0).Take(firstTorch.Count).ToList(), 1e-4f, $"ONNX {k} against TorchSharp, 'intent'");
        }

        var second = AddDomain(loaded, first, "code", dir.File("second"));
        Assert.Equal(2 * loaded.Config.TopK, loaded.Model.Config.DomainExpertCopies);
        AssertBitIdentical(baseTorch, TorchLogits(loaded.Model, second, prompts, ExpertAssignment.NoDomain), "TorchSharp, no domain, after adding 'code'");
        AssertBitIdentical(firstTorch, TorchLogits(loaded.Model, second, prompts, domainId: 0), "TorchSharp, 'intent', after adding 'code'");
        AssertDiffers(firstTorch, TorchLogits(loaded.Model, second, prompts, domainId: 1), "TorchSharp, 'code' against 'intent'");
        foreach (var k in kernels)
        {
            var secondOnnx = Export(dir.File("second"), dir.File($"second-{k}"), k);
            AssertBitIdentical(baseOnnx[k], OnnxLogits(secondOnnx, ExpertAssignment.NoDomain), $"ONNX {k}, no domain, after adding 'code'");
            AssertBitIdentical(OnnxLogits(firstOnnx[k], 0), OnnxLogits(secondOnnx, 0), $"ONNX {k}, 'intent', after adding 'code'");
            // One batch mixing the paths runs the no-domain rows and each copied domain's rows through their own branches.
            long[] mixed = [ExpertAssignment.NoDomain, 0, 1, ExpertAssignment.NoDomain];
            var alone = mixed.Select((domain, row) => OnnxLogits(secondOnnx, domain)[row]).ToList();
            AssertClose(alone.Select(l => l[^loaded.Config.VocabSize..]).ToList(), MixedBatchLastLogits(secondOnnx, mixed), 1e-4f, $"ONNX {k}, one batch of no domain, 'intent' and 'code'");
        }
    }

    [Fact]
    public void A_version_made_before_copies_takes_a_copied_domain_and_keeps_serving_its_own_domains_bit_identical()
    {
        using var dir = new TempDirectory();
        var oldFolder = dir.File("old");
        var old = ExportFixture.CreateTwoDomainModel(oldFolder); // math owns experts 0-3, law 4-7: no copies, no copy field in config.json
        var kernels = Enum.GetValues<ExpertKernel>();
        var before = kernels.ToDictionary(k => k, k => Export(oldFolder, dir.File($"old-{k}"), k));

        using var loaded = ModelFolder.Load(oldFolder);
        var added = AddDomain(loaded, old, "intent", dir.File("new"));

        Assert.Equal(["math", "law", "intent"], added.Domains);
        foreach (var k in kernels)
        {
            var after = Export(dir.File("new"), dir.File($"new-{k}"), k); // the export's own check holds every domain id to TorchSharp's logits (1e-4)
            foreach (long domain in new long[] { ExpertAssignment.NoDomain, 0, 1 })
                AssertBitIdentical(OnnxLogits(before[k], domain), OnnxLogits(after, domain), $"ONNX {k}, domain id {domain}, after adding 'intent' to a version made before copies");
        }
    }

    private static ExpertAssignment AddDomain(LoadedModel loaded, ExpertAssignment current, string domain, string folder)
    {
        var train = DatasetSplit.Create(DomainCatalog.Get(domain), 64, 0, seed: 5).Train;
        var run = new DomainAddition(loaded.Model, loaded.Tokenizer, new DomainAdditionOptions { Steps = 8, BatchSize = 4, ProfileExamples = 32, LearningRate = 3e-3 })
            .Run(current, null, domain, train);
        ModelFolder.Save(folder, loaded.Model, loaded.Tokenizer, new Dictionary<string, string> { [ExpertAssignment.FileName] = run.Assignment.ToJson() });
        return run.Assignment;
    }

    private static void AssertClose(IReadOnlyList<float[]> expected, IReadOnlyList<float[]> actual, float tolerance, string what)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Length, actual[i].Length);
            float worst = expected[i].Zip(actual[i], (a, b) => Math.Abs(a - b)).Max();
            Assert.True(worst <= tolerance, $"{what}: prompt {i} logits differ by up to {worst} (tolerance {tolerance})");
        }
    }

    private static string Export(string modelFolder, string output, ExpertKernel kernel) =>
        ModelExporter.Export(modelFolder, output, new ExportOptions { Experts = kernel }).ModelPath;

    private static float[] PlainLogits(MoeTransformer model, long[] prompt)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        return model.Forward(tensor(prompt, [1, prompt.Length])).Logits.flatten().data<float>().ToArray();
    }

    private static List<float[]> TorchLogits(MoeTransformer model, ExpertAssignment assignment, IReadOnlyList<long[]> prompts, int domainId)
    {
        using var routing = DomainRouting.For(assignment, model.Config.TopK, NoDomainRouting.AllExperts);
        using var noGrad = no_grad();
        return prompts.Select(p =>
        {
            using var scope = NewDisposeScope();
            return model.Forward(tensor(p, [1, p.Length]), domainIds: tensor(new long[] { domainId }), domainRouting: routing).Logits.flatten().data<float>().ToArray();
        }).ToList();
    }

    /// <summary>Prefill logits of every prompt, one at a time, then the four prompts as one left-padded batch.</summary>
    private static List<float[]> OnnxLogits(string modelPath, long domainId)
    {
        using var decoder = OnnxDecoder.Load(modelPath);
        var tokenizer = decoder.Info.Tokenizer;
        var prompts = PromptTexts.Select(p => (IReadOnlyList<int>)PromptFormat.EncodePrompt(tokenizer, p)).ToList();
        var logits = prompts.Select(p =>
        {
            var ids = p.Select(t => (long)t).ToArray();
            using var cache = decoder.EmptyCache(1);
            using var output = decoder.Run(new OnnxStepInput(1, ids.Length, ids, Enumerable.Repeat(1L, ids.Length).ToArray(),
                Enumerable.Range(0, ids.Length).Select(i => (long)i).ToArray(), [domainId]), cache);
            return output.Logits.ToArray();
        }).ToList();
        var layout = LeftPaddedBatch.Create(prompts, tokenizer.Special.Pad);
        using var batchCache = decoder.EmptyCache(prompts.Count);
        using var batched = decoder.Run(new OnnxStepInput(prompts.Count, layout.Longest, layout.Ids, layout.Mask.Select(m => m ? 1L : 0L).ToArray(),
            layout.Positions, Enumerable.Repeat(domainId, prompts.Count).ToArray()), batchCache);
        logits.Add(batched.Logits.ToArray());
        return logits;
    }

    /// <summary>The last position's logits of each row of the four prompts as one left-padded batch, row i on domain <paramref name="domainIds"/>[i].</summary>
    private static List<float[]> MixedBatchLastLogits(string modelPath, long[] domainIds)
    {
        using var decoder = OnnxDecoder.Load(modelPath);
        var prompts = PromptTexts.Select(p => (IReadOnlyList<int>)PromptFormat.EncodePrompt(decoder.Info.Tokenizer, p)).ToList();
        var layout = LeftPaddedBatch.Create(prompts, decoder.Info.Tokenizer.Special.Pad);
        using var cache = decoder.EmptyCache(prompts.Count);
        using var output = decoder.Run(new OnnxStepInput(prompts.Count, layout.Longest, layout.Ids, layout.Mask.Select(m => m ? 1L : 0L).ToArray(),
            layout.Positions, domainIds), cache);
        var logits = output.Logits.ToArray();
        int vocab = logits.Length / (prompts.Count * layout.Longest);
        return Enumerable.Range(0, prompts.Count).Select(row => logits.AsSpan(((row + 1) * layout.Longest - 1) * vocab, vocab).ToArray()).ToList();
    }

    private static void AssertBitIdentical(IReadOnlyList<float[]> expected, IReadOnlyList<float[]> actual, string what)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Length, actual[i].Length);
            int differ = expected[i].Zip(actual[i]).Count(p => BitConverter.SingleToInt32Bits(p.First) != BitConverter.SingleToInt32Bits(p.Second));
            double largest = expected[i].Zip(actual[i]).Max(p => Math.Abs(p.First - p.Second));
            Assert.True(differ == 0, $"{what}: output {i} has {differ} of {expected[i].Length} logits that differ in their bits (largest gap {largest:E2})");
        }
    }

    private static void AssertDiffers(IReadOnlyList<float[]> a, IReadOnlyList<float[]> b, string what)
    {
        double largest = a.Zip(b).Max(p => p.First.Zip(p.Second).Max(x => Math.Abs(x.First - x.Second)));
        Assert.True(largest > 1e-3, $"{what}: the logits moved by only {largest:E2}; the copies did not train or were not reached");
    }
}
