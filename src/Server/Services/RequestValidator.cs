using DesMoe.Onnx.Generation;
using DesMoe.Formats.Tokenization;
using DesMoe.Protos.V1;
using DesMoe.Server.Engine;
using DesMoe.Server.Options;
using Grpc.Core;

namespace DesMoe.Server.Services;

/// <summary>Turns a wire request into a <see cref="GenerationRequest"/>, or an RpcException with the right status and a message naming the problem.</summary>
public sealed class RequestValidator(ServerOptions options)
{
    public GenerationRequest Validate(GenerateRequest request, IGenerationEngine engine)
    {
        var tokenizer = engine.Tokenizer;
        List<int> prompt;
        switch (request.InputCase)
        {
            case GenerateRequest.InputOneofCase.Text when request.Text.Length > 0:
                prompt = PromptFormat.EncodePrompt(tokenizer, request.Text);
                break;
            case GenerateRequest.InputOneofCase.TokenIds when request.TokenIds.Ids.Count > 0:
                var bad = request.TokenIds.Ids.Where(id => id < 0 || id >= tokenizer.VocabSize || tokenizer.Special.Contains(id))
                    .Select(id => (int?)id).FirstOrDefault();
                if (bad is not null)
                    throw Invalid($"token id {bad} is not a text token of tokenizer '{tokenizer.Name}' (valid: 0..{tokenizer.VocabSize - 1}, excluding special tokens)");
                prompt = [tokenizer.Special.Begin, .. request.TokenIds.Ids, tokenizer.Special.Separator];
                break;
            default:
                throw Invalid("the prompt is empty: set text or token_ids");
        }

        int context = engine.ContextWindow;
        if (prompt.Count >= context)
            throw Invalid($"the prompt is {prompt.Count} tokens (with control tokens) but the served context is {context} tokens; at most {context - 1} leave room to generate");

        int maxNew = request.MaxNewTokens == 0 ? options.DefaultMaxNewTokens : (int)Math.Min(request.MaxNewTokens, int.MaxValue);
        if (maxNew > options.MaxNewTokensLimit)
            throw Invalid($"max_new_tokens {request.MaxNewTokens} exceeds this server's limit of {options.MaxNewTokensLimit}");

        var sampling = new SamplingSettings(request.Sampling?.Temperature ?? 0, (int)Math.Min(request.Sampling?.TopK ?? 0, int.MaxValue), request.Sampling?.TopP ?? 0);
        var problems = sampling.Problems();
        if (problems.Count > 0) throw Invalid(string.Join("; ", problems));

        string? domain = null;
        if (request.Domain.Length > 0 && !DomainInference.DomainResolution.IsReserved(request.Domain))
        {
            if (!engine.Domains.Contains(request.Domain))
                throw new RpcException(new Status(StatusCode.NotFound, engine.Domains.Count == 0
                    ? $"unknown domain '{request.Domain}': the served model has no adapted domains yet; leave domain empty"
                    : $"unknown domain '{request.Domain}'; known domains: {string.Join(", ", engine.Domains)} (or empty / \"auto\" to infer it, \"none\" for the plain router)"));
            domain = request.Domain;
        }

        if (request.Stop.Any(s => s.Length == 0)) throw Invalid("stop sequences must not be empty");

        int seed = request.Sampling?.HasSeed == true ? unchecked((int)request.Sampling.Seed) : Random.Shared.Next();
        return new GenerationRequest(prompt, domain, maxNew, sampling, seed, request.Stop.ToList(), request.IgnoreEndOfText);
    }

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
