using DesMoe.Trainer.Adaptation;

namespace DesMoe.Trainer.Comparison.Paper;

/// <summary>One row kind of the comparison: a method, how its models are trained, and whose tuned rate it takes.</summary>
/// <param name="OnGrid">trained at every rate of the grid (a frontier curve and its own tuned rate); otherwise at <paramref name="RateOf"/>'s tuned rate</param>
/// <param name="RateOf">the (method, setting) whose tuned rate this one uses; itself when on the grid</param>
public sealed record ComparedMethod(string Name, PaperSetting Setting, AdaptationOptions Options, bool OnGrid, (string Name, PaperSetting Setting) RateOf)
{
    public (string, PaperSetting) Key => (Name, Setting);
    public bool DomainRouted => Options.UsesDomainRouting;
}

/// <summary>The methods of the paper's Tables 1-3 and our domain-routed variant, as the comparison runs them.</summary>
public static class ComparedMethods
{
    public const string DomainRoutedLabelled = "Domain-routed, labelled";
    public const string DomainRoutedUnlabelled = "Domain-routed, no label";
    /// <summary>The domain-routed variant's training (one per rate), scored as two rows: with and without the label.</summary>
    public const string DomainRouted = "Domain-routed";

    /// <summary>Figure 2's methods.</summary>
    public static readonly string[] Headline = ["FFT", "ESFT-Gate", "DES-MoE"];

    /// <summary>Table 3's rows (beside DES-MoE and ESFT-Gate mixed, which they change), and the earlier form of the masks.</summary>
    public static readonly string[] Ablations =
        ["DES-MoE w/o adaptive router", "DES-MoE w/o expert-domain masks", "DES-MoE w/o schedule", "ESFT-Gate + adaptive router", "DES-MoE, masks cut the hidden state"];

    /// <summary>The rows the paper's targets compare, run at every seed (the rest at the first).</summary>
    public static readonly (string Method, PaperSetting Setting)[] Seeded = [("FFT", PaperSetting.PerDomain), ("DES-MoE", PaperSetting.Mixed)];

    public static IReadOnlyList<ComparedMethod> For(PaperOptions options)
    {
        var fft = AdaptationOptions.For(AdaptationMethod.FullFineTuning);
        var desMoe = AdaptationOptions.For(AdaptationMethod.DesMoe);
        var esftToken = AdaptationOptions.For(AdaptationMethod.Esft) with { EsftScore = EsftScore.TokenSelectionRatio, EsftTopP = options.EsftTokenTopP };
        var esftGate = AdaptationOptions.For(AdaptationMethod.Esft) with { EsftScore = EsftScore.GateScore, EsftTopP = options.EsftGateTopP };
        var routed = AdaptationOptions.For(AdaptationMethod.DomainRouted);
        ComparedMethod Grid(string name, PaperSetting setting, AdaptationOptions o) => new(name, setting, o, OnGrid: true, (name, setting));
        ComparedMethod Tuned(string name, AdaptationOptions o, string rateOf) => new(name, PaperSetting.Mixed, o, OnGrid: false, (rateOf, PaperSetting.Mixed));

        var methods = new List<ComparedMethod> { Grid("FFT", PaperSetting.PerDomain, fft) };
        if (options.PerDomainEsft)
            methods.AddRange([
                Grid("ESFT-Gate", PaperSetting.PerDomain, esftGate),
                // ESFT-Token takes ESFT-Gate's rate (the paper tunes ESFT once): 24 fewer per-domain jobs keep a full run within 4 hours on 2 cores.
                new("ESFT-Token", PaperSetting.PerDomain, esftToken, OnGrid: false, ("ESFT-Gate", PaperSetting.PerDomain)),
            ]);
        methods.AddRange([Grid("FFT", PaperSetting.Mixed, fft), Grid("ESFT-Gate", PaperSetting.Mixed, esftGate), Grid("DES-MoE", PaperSetting.Mixed, desMoe)]);
        if (options.DomainRouted) methods.Add(Grid(DomainRouted, PaperSetting.Mixed, routed));
        if (options.Ablations)
            methods.AddRange([
                Tuned(Ablations[0], desMoe with { AdaptiveRouter = false }, "DES-MoE"),
                Tuned(Ablations[1], desMoe with { GradientIsolation = false }, "DES-MoE"),
                Tuned(Ablations[2], desMoe with { ProgressiveSchedule = false }, "DES-MoE"),
                Tuned(Ablations[3], esftGate with { EsftAdaptiveRouter = true }, "ESFT-Gate"),
                Tuned(Ablations[4], desMoe with { MaskCutsHiddenState = true }, "DES-MoE"),
            ]);
        return methods;
    }
}
