using DesMoe.Formats.Data;
using DesMoe.Formats.Experts;
using DesMoe.Formats.Tokenization;
using DesMoe.Tests.Support;
using DesMoe.Torch.Model;
using DesMoe.Trainer.Adaptation;
using Xunit;
using static TorchSharp.torch;

namespace DesMoe.Tests.Adaptation;

public class DomainRemovalTests
{
    private static readonly ByteTokenizer Tokenizer = new();
    private static readonly long[][] Prompts = [[259, 49, 50, 43, 51, 52, 61], [259, 116, 104, 101, 32, 99, 97, 116]];

    private static ExpertAssignment Add(MoeTransformer model, ExpertAssignment current, string domain) =>
        new DomainAddition(model, Tokenizer, new DomainAdditionOptions { Steps = 3, BatchSize = 4, ProfileExamples = 16, LearningRate = 1e-2 })
            .Run(current, null, domain, DatasetSplit.Create(DomainCatalog.Get(domain), 16, 0, seed: 3).Train).Assignment;

    private static float[][] Logits(MoeTransformer model, ExpertAssignment assignment, string? domain)
    {
        using var routing = DomainRouting.For(assignment, model.Config.TopK, NoDomainRouting.AllExperts);
        using var noGrad = no_grad();
        long id = domain is null ? ExpertAssignment.NoDomain : assignment.Domains.ToList().IndexOf(domain);
        return Prompts.Select(p =>
        {
            using var scope = NewDisposeScope();
            return model.Forward(tensor(p, [1, p.Length]), domainIds: tensor(new[] { id }), domainRouting: routing).Logits.flatten().data<float>().ToArray();
        }).ToArray();
    }

    [Fact]
    public void Removing_a_domain_drops_its_copies_and_leaves_every_other_path_bit_identical()
    {
        using var model = TinyModels.Create(config: TinyModels.Config(experts: 8, topK: 2));
        var both = Add(model, Add(model, ExpertAssignment.Empty(2, 8), "law"), "code");
        var noDomain = Logits(model, both, null);
        var code = Logits(model, both, "code");

        var (smaller, remaining) = DomainRemoval.Run(model, both, "law");
        using var _ = smaller;

        Assert.Equal(["code"], remaining.Domains);
        Assert.Equal(2, smaller.Config.DomainExpertCopies);
        Assert.Equal([[8, 9], [8, 9]], remaining.CopySlots["code"]);
        Assert.Equal(noDomain, Logits(smaller, remaining, null));
        Assert.Equal(code, Logits(smaller, remaining, "code"));
        Assert.NotEqual(noDomain[0], code[0]); // code's copies trained: its path is its own
        var codeCopy = model.named_parameters().Single(p => p.name == "layers.0.mlp.experts.10.down_proj.weight").parameter;
        var moved = smaller.named_parameters().Single(p => p.name == "layers.0.mlp.experts.8.down_proj.weight").parameter;
        Assert.True(codeCopy.equal(moved).all().item<bool>(), "code's first copy did not move to the first copy slot");
    }

    [Fact]
    public void A_domain_that_owns_its_experts_cannot_be_removed_and_the_error_says_why()
    {
        using var model = TinyModels.Create(config: TinyModels.Config(experts: 6, topK: 2));
        var legacy = ExpertAssignment.Empty(2, 6).WithExclusiveDomain("math", [[0, 1], [0, 1]]);

        var error = Assert.Throws<ArgumentException>(() => DomainRemoval.Run(model, legacy, "math"));

        Assert.Contains("owns its experts", error.Message);
        Assert.Contains("no-domain path", error.Message);
    }
}
