using DesMoe.Formats.Data;
using DesMoe.Torch.Evaluation;
using DesMoe.Formats.Experts;
using DesMoe.Torch.Model;
using DesMoe.Formats.Tokenization;
using static TorchSharp.torch;

namespace DesMoe.Trainer.Adaptation;

/// <summary>
/// The routed experts, per layer, that domain-routed DES-MoE may adapt: those whose removal costs the pre-trained
/// (general) ability least (<see cref="ExpertRemovalCost"/>). The specificity matrix divides them among the domains;
/// the rest keep serving the no-domain path unchanged, weights and router rows alike.
/// </summary>
public sealed class AdaptablePool : IDisposable
{
    private readonly DisposableTensors _routerRows;

    public AdaptablePool(IReadOnlyList<IReadOnlySet<int>> experts, int numExperts)
    {
        Experts = experts;
        _routerRows = new DisposableTensors(experts.Select(set =>
            tensor(Enumerable.Range(0, numExperts).Select(e => set.Contains(e) ? 1f : 0f).ToArray(), [numExperts, 1])));
    }

    /// <summary>Per layer, the experts that may adapt.</summary>
    public IReadOnlyList<IReadOnlySet<int>> Experts { get; }

    /// <summary>bool [experts, 1]: the router rows of <paramref name="layer"/> that may train (the caller disposes it).</summary>
    public Tensor RouterRows(int layer) => _routerRows[layer].to_type(ScalarType.Bool);

    /// <summary>
    /// Zeroes every router gradient row but the pool's, so only those rows move (with weight decay 0, the others stay
    /// bit-identical). Call between backward and the optimizer step.
    /// </summary>
    public void MaskRouterGradients(MoeTransformer model)
    {
        using var noGrad = no_grad();
        var layers = model.Layers;
        for (int l = 0; l < layers.Count; l++) layers[l].Moe.Router.Weight.grad!.mul_(_routerRows[l]);
    }

    /// <summary>
    /// Per layer, <paramref name="size"/> experts chosen greedily: each round measures the removal cost on
    /// <paramref name="general"/> with the experts chosen so far already taken away, and adds each layer's cheapest.
    /// Measured on the bundled model (8 of 16 experts, math + code, 300 steps): choosing all 8 from one measurement
    /// cost the general set 22 points, because experts that are cheap one at a time back each other up.
    /// </summary>
    public static AdaptablePool Choose(MoeTransformer model, ITextTokenizer tokenizer, IReadOnlyList<Example> general, int size, int costExamples)
    {
        var config = model.Config;
        var chosen = Enumerable.Range(0, config.NumMoeLayers).Select(_ => new List<int>()).ToList();
        var reference = new[] { new EvaluationSet(DomainCatalog.GeneralName, general) };
        for (int round = 0; round < size; round++)
        {
            var taken = ExpertAssignment.Empty(config.NumMoeLayers, config.NumRoutedExperts);
            if (round > 0) taken = taken.WithExclusiveDomain("\u0001pool", chosen.Select(c => c.ToArray()).ToList());
            var cost = ExpertRemovalCost.Measure(model, tokenizer, taken, reference, costExamples);
            for (int l = 0; l < config.NumMoeLayers; l++)
                chosen[l].Add(Enumerable.Range(0, config.NumRoutedExperts).OrderBy(e => cost[l][e]).ThenBy(e => e).First());
        }
        return new AdaptablePool(chosen.Select(c => (IReadOnlySet<int>)c.ToHashSet()).ToList(), config.NumRoutedExperts);
    }

    public void Dispose() => _routerRows.Dispose();
}
