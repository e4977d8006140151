using DesMoe.Formats.Files;
using DesMoe.Trainer.Adaptation;
using ScottPlot;

namespace DesMoe.Trainer.Comparison.Reporting;

/// <summary>PNG charts of benchmark results and of the specificity matrix.</summary>
public static class Charts
{
    public static void ForgettingByDomainCount(IReadOnlyList<MethodResult> results, string path)
    {
        var plot = new Plot();
        foreach (var method in results.GroupBy(r => r.Method))
        {
            var points = method.OrderBy(r => r.Domains.Count).ToList();
            var line = plot.Add.Scatter(points.Select(r => (double)r.Domains.Count).ToArray(), points.Select(r => 100 * r.Forgetting).ToArray());
            line.LegendText = method.Key;
        }
        plot.Title("Forgetting of the general set vs number of domains");
        plot.XLabel("domains");
        plot.YLabel("general accuracy drop (points)");
        plot.ShowLegend(Alignment.UpperLeft);
        Save(plot, path, 900, 560);
    }

    public static void ValidationCurves(IReadOnlyList<MethodResult> results, double target, string path)
    {
        var plot = new Plot();
        foreach (var r in results.Where(r => r.ValidationCurve.Count > 0))
        {
            var line = plot.Add.Scatter(r.ValidationCurve.Select(p => (double)p.Step).ToArray(), r.ValidationCurve.Select(p => p.Loss).ToArray());
            line.LegendText = r.Method;
            line.MarkerSize = 0;
        }
        var targetLine = plot.Add.HorizontalLine(target);
        targetLine.LinePattern = LinePattern.Dashed;
        targetLine.LegendText = "target";
        plot.Title($"Held-out loss, {results.FirstOrDefault()?.Domains.Count} domains");
        plot.XLabel("step");
        plot.YLabel("mean held-out loss");
        plot.ShowLegend(Alignment.UpperRight);
        Save(plot, path, 900, 560);
    }

    /// <summary>Figure 2: each headline method's general average (percent) against the number of domains it was adapted to.</summary>
    public static void GeneralByDomainCount(IReadOnlyList<Paper.PaperRow> rows, IReadOnlyList<string> methods, int seed, string path)
    {
        var plot = new Plot();
        foreach (var method in methods)
        {
            var points = rows.Where(r => r.Method == method && r.Setting == Paper.PaperSetting.Mixed && r.Seed == seed && r.Tuned).OrderBy(r => r.Domains.Count).ToList();
            if (points.Count == 0) continue;
            var line = plot.Add.Scatter(points.Select(r => (double)r.Domains.Count).ToArray(), points.Select(r => 100 * r.General.Average).ToArray());
            line.LegendText = method;
        }
        if (rows.FirstOrDefault(r => r.Setting == Paper.PaperSetting.Untuned) is { } untuned)
        {
            var baseline = plot.Add.HorizontalLine(100 * untuned.General.Average);
            baseline.LinePattern = LinePattern.Dashed;
            baseline.LegendText = "untuned";
        }
        plot.Title("General average (no label) vs number of domains, mixed");
        plot.XLabel("domains");
        plot.YLabel("general average (%)");
        plot.ShowLegend(Alignment.LowerLeft);
        Save(plot, path, 900, 560);
    }

    /// <summary>
    /// The learning-forgetting frontier: each method at each rate as a point (general loss against untuned, downstream
    /// gain over untuned, in points), and each method's frontier (its points no other of its points beats on both)
    /// drawn through them. Up and to the left is better.
    /// </summary>
    public static void Frontier(IReadOnlyList<Paper.FrontierPoint> points, string path)
    {
        var plot = new Plot();
        // One colour per method from a ten-colour palette (each method adds two plottables, which would otherwise
        // advance the default palette twice and repeat colours); one-model-per-domain rows are dashed.
        var palette = new ScottPlot.Palettes.Category10();
        foreach (var (method, index) in points.GroupBy(p => p.Method).Select((g, i) => (g, i)))
        {
            var all = method.OrderBy(p => p.GeneralLoss).ToList();
            var frontier = Paper.FrontierPoint.ParetoFront(all);
            var line = plot.Add.Scatter(frontier.Select(p => p.GeneralLoss).ToArray(), frontier.Select(p => p.DownstreamGain).ToArray());
            line.LegendText = method.Key;
            line.Color = palette.GetColor(index);
            line.LineWidth = 2;
            if (method.Key.Contains("per domain", StringComparison.Ordinal)) line.LinePattern = LinePattern.Dashed;
            var dots = plot.Add.ScatterPoints(all.Select(p => p.GeneralLoss).ToArray(), all.Select(p => p.DownstreamGain).ToArray());
            dots.Color = line.Color;
            dots.MarkerSize = 6;
            foreach (var p in all)
            {
                var label = plot.Add.Text($"{p.RelativeRate:G2}x", p.GeneralLoss, p.DownstreamGain);
                label.LabelFontSize = 9;
                label.LabelFontColor = line.Color;
            }
        }
        var zero = plot.Add.VerticalLine(0);
        zero.LinePattern = LinePattern.Dashed;
        plot.Title("Learning-forgetting frontier (each point: a method at one rate)");
        plot.XLabel("general loss vs untuned (points; left is better)");
        plot.YLabel("downstream gain over untuned (points)");
        plot.ShowLegend(Alignment.UpperLeft);
        Save(plot, path, 1000, 640);
    }

    /// <summary>Figure 3: wall-clock seconds to the best validation point of each mixed method.</summary>
    public static void TimeToBest(IReadOnlyList<Paper.PaperRow> rows, string path)
    {
        var plot = new Plot();
        var bars = rows.Where(r => r.SecondsToBest is not null).ToList();
        for (int i = 0; i < bars.Count; i++)
            plot.Add.Bar(new Bar { Position = i, Value = bars[i].SecondsToBest!.Value });
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, bars.Count).Select(i => (double)i).ToArray(), bars.Select(r => r.Method).ToArray());
        plot.Title("Wall-clock to the best validation point, mixed");
        plot.YLabel("seconds");
        plot.Axes.Margins(bottom: 0);
        Save(plot, path, 1000, 560);
    }

    /// <summary>One heat map row block per layer: rows are domains, columns experts, colour the selection share.</summary>
    public static void SpecificityHeatmap(SpecificityMatrix matrix, string path)
    {
        int rows = matrix.NumLayers * matrix.Domains.Count;
        var data = new double[rows, matrix.NumExperts];
        for (int l = 0; l < matrix.NumLayers; l++)
            for (int d = 0; d < matrix.Domains.Count; d++)
                for (int e = 0; e < matrix.NumExperts; e++)
                    data[l * matrix.Domains.Count + d, e] = matrix[l, d, e];
        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(data);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        plot.Add.ColorBar(heatmap);
        var ticks = Enumerable.Range(0, rows)
            .Select(r => new Tick(rows - 1 - r, $"L{r / matrix.Domains.Count} {matrix.Domains[r % matrix.Domains.Count]}")).ToArray();
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
        plot.Title("Expert-domain specificity (share of each domain's expert selections)");
        plot.XLabel("expert");
        Save(plot, path, 1000, 180 + 22 * rows);
    }

    private static void Save(Plot plot, string path, int width, int height) =>
        AtomicFile.Write(path, temp => plot.SavePng(temp, width, height));
}
