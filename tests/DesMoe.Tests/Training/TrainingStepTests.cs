using DesMoe.Formats.Data;
using DesMoe.Torch.Evaluation;
using DesMoe.Formats.Tokenization;
using DesMoe.Torch.Training;
using DesMoe.Trainer.Optimization;
using DesMoe.Tests.Support;
using Xunit;
using static TorchSharp.torch;

namespace DesMoe.Tests.Training;

public class TrainingStepTests
{
    [Fact]
    public void A_few_steps_on_one_batch_lower_its_loss_and_every_parameter_gets_a_finite_gradient()
    {
        using var model = TinyModels.Create(seed: 21);
        model.train();
        var tokenizer = new ByteTokenizer();
        var examples = DatasetSplit.Generate(DomainCatalog.General, 16, seed: 1);
        using var batch = SequenceBatch.Create(tokenizer, examples, model.Config.MaxPositions);
        using var optimizer = new AdamW(model.parameters(), 1e-2, beta2: 0.999, weightDecay: 0.01);

        float first = 0, last = 0;
        for (int step = 0; step < 8; step++)
        {
            using var scope = NewDisposeScope();
            var output = model.Forward(batch.InputIds, batch.AttentionMask);
            var loss = LanguageModelLoss.WithBalance(LanguageModelLoss.CrossEntropy(output.Logits, batch.Targets), output.BalanceLoss, 0.01);
            optimizer.ZeroGrad();
            loss.backward();
            if (step == 0)
            {
                first = loss.item<float>();
                var routed = model.named_parameters().Where(p => p.name.Contains(".experts.")).ToList();
                Assert.Contains(routed, p => p.parameter.grad is not null);
                Assert.All(model.named_parameters().Where(p => p.parameter.grad is not null),
                    p => Assert.True(p.parameter.grad!.isfinite().all().item<bool>(), p.name));
                Assert.NotNull(model.named_parameters().Single(p => p.name == "layers.0.mlp.router.gate.weight").parameter.grad);
            }
            optimizer.Step();
            last = loss.item<float>();
        }
        Assert.True(last < first * 0.8, $"loss {first} -> {last}");
    }

    [Fact]
    public void Batched_greedy_decoding_equals_decoding_each_prompt_alone()
    {
        using var model = TinyModels.Create(seed: 8);
        var tokenizer = new ByteTokenizer();
        var prompts = new[] { "copy ab", "reverse abcdef", "x" }
            .Select(p => (IReadOnlyList<int>)PromptFormat.EncodePrompt(tokenizer, p)).ToList();

        var batched = GreedyDecoder.Generate(model, tokenizer.Special, prompts, maxNewTokens: 6);

        for (int i = 0; i < prompts.Count; i++)
            Assert.Equal(GreedyDecoder.Generate(model, tokenizer.Special, [prompts[i]], maxNewTokens: 6)[0], batched[i]);
        Assert.All(batched, b => Assert.InRange(b.Count, 0, 6));
    }
}
