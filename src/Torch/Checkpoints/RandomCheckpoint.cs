using DesMoe.Torch.Tensors;
using DesMoe.Torch.Model;
using System.Text.Json.Nodes;
using DesMoe.Torch.Safetensors;
using TorchSharp;
using static TorchSharp.torch;
using DesMoe.Formats.Architectures;
using DesMoe.Formats.Hub;

namespace DesMoe.Torch.Checkpoints;

/// <summary>
/// Writes a hub-layout checkpoint with random weights for any supported config, optionally with fewer layers, so
/// that load, memory and speed at real model shapes can be measured without downloading weights. Weights are
/// N(0, initializer_range) (0.02 when the config has none), norms 1. The names and shapes are the architecture's
/// mapping applied to its trainable form (<see cref="DesMoeForm"/>), so what it writes is exactly what adaptation,
/// export and serving load, and a config they refuse is refused here with the same line. The module is built in
/// the file's dtype and written as it is, so the peak is about the file's size.
/// </summary>
public static class RandomCheckpoint
{
    public sealed record Result(string Folder, long Parameters, long Bytes);

    /// <summary>The dtypes a checkpoint can be written in, by the name config.json's <c>torch_dtype</c> gives them.</summary>
    public static IReadOnlyDictionary<string, ScalarType> DTypes { get; } = new Dictionary<string, ScalarType>
    {
        ["float32"] = ScalarType.Float32, ["float16"] = ScalarType.Float16, ["bfloat16"] = ScalarType.BFloat16,
    };

    /// <param name="configPath">a config.json of a supported architecture (e.g. a model's published config)</param>
    /// <param name="layers">num_hidden_layers for the copy; null keeps the config's</param>
    public static Result Write(string configPath, string outputFolder, ScalarType dtype, int? layers = null, int seed = 0)
    {
        var dtypeName = DTypes.FirstOrDefault(kv => kv.Value == dtype).Key
                        ?? throw new ArgumentException($"dtype {dtype} is not supported (supported: {string.Join(", ", DTypes.Keys)})");
        if (layers is <= 0) throw new ArgumentException($"layers must be positive (got {layers})");
        var json = JsonNode.Parse(File.ReadAllText(configPath))?.AsObject() ?? throw new InvalidDataException($"{configPath} is not a JSON object");
        if (layers is { } n) json["num_hidden_layers"] = n;
        json["torch_dtype"] = dtypeName;
        var text = json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
        var config = ArchitectureRegistry.For(ConfigJson.Parse(text, configPath).ModelType).ReadConfig(ConfigJson.Parse(text, configPath));
        double std = json["initializer_range"]?.GetValue<double>() ?? 0.02;

        Directory.CreateDirectory(outputFolder);
        File.WriteAllText(Path.Combine(outputFolder, HubFolder.ConfigFileName), text);
        torch.manual_seed(seed);
        var form = ArchitectureRegistry.For(config.ModelType).ToDesMoe(config);
        // The module, held in the file's dtype and drawn in place, is what gets written: one copy of the weights, which
        // the writer streams out tensor by tensor (a float32 module beside every converted tensor peaked at 3.6x the file).
        using var model = new MoeTransformer(form.Config.Validate(), initializeWeights: false, weights: dtype);
        var named = model.named_parameters().Select(p => (Name: form.Names.ToHub(p.name)!, Tensor: (Tensor)p.parameter)).ToList();
        long parameters = named.Sum(p => p.Tensor.numel());
        using var stdScalar = std.ToScalar();
        using (no_grad())
            foreach (var (name, tensor) in named)
                if (name.EndsWith("norm.weight", StringComparison.Ordinal)) tensor.fill_(Scalars.One);
                else Draw(tensor, stdScalar);
        var weights = Path.Combine(outputFolder, "model.safetensors");
        SafetensorsWriter.Write(weights, named, storeAs: _ => dtype);
        return new Result(Path.GetFullPath(outputFolder), parameters, new FileInfo(weights).Length);
    }

    /// <summary>N(0, std) into <paramref name="tensor"/>, drawn in float32 (vectorised, unlike a 16-bit normal_) a 64 MB slice at a time.</summary>
    private static void Draw(Tensor tensor, Scalar std)
    {
        if (tensor.shape.Length == 0)
        {
            using var draw = randn(tensor.shape);
            tensor.copy_(draw.mul_(std));
            return;
        }
        long rows = tensor.shape[0];
        foreach (var (first, count) in RowSlices.Of(rows, tensor.numel() / Math.Max(1, rows) * sizeof(float), 64L << 20))
        {
            using var scope = NewDisposeScope();
            var slice = tensor.narrow(0, first, count);
            slice.copy_(randn(slice.shape).mul_(std));
        }
    }
}
