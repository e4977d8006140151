using DesMoe.Formats.Tokenization;
using DesMoe.Onnx.Generation;
using DesMoe.Protos.V1;
using DesMoe.Server.DomainInference;
using DesMoe.Server.Engine;
using DesMoe.Server.Options;
using Grpc.Core;

namespace DesMoe.Server.Requests;

/// <summary>
/// Turns a request into a <see cref="GenerationRequest"/>, or refuses it with a message naming the field and the value.
/// One set of rules for every protocol: gRPC's INVALID_ARGUMENT and NOT_FOUND and HTTP's 400 and 404 say the same.
/// </summary>
public sealed class RequestValidator(ServerOptions options)
{
    /// <summary>A gRPC request: its text or token ids, then the shared rules; refusals as <see cref="RpcException"/>.</summary>
    public GenerationRequest Validate(GenerateRequest request, IGenerationEngine engine)
    {
        try
        {
            var sampling = request.Sampling;
            var input = new RequestInput(GrpcPrompt(request, engine.Tokenizer), request.MaxNewTokens, sampling?.Temperature ?? 0, sampling?.TopK ?? 0,
                sampling?.TopP ?? 0, sampling?.HasSeed == true ? (long?)sampling.Seed : null, request.Stop, request.IgnoreEndOfText, request.Domain);
            return Validate(input, engine, FieldNames.Grpc);
        }
        catch (RequestRejectedException e)
        {
            throw new RpcException(new Status(e.Kind == Rejection.NotFound ? StatusCode.NotFound : StatusCode.InvalidArgument, e.Message));
        }
    }

    private static List<int> GrpcPrompt(GenerateRequest request, ITextTokenizer tokenizer)
    {
        switch (request.InputCase)
        {
            case GenerateRequest.InputOneofCase.Text when request.Text.Length > 0:
                return PromptFormat.EncodePrompt(tokenizer, request.Text);
            case GenerateRequest.InputOneofCase.TokenIds when request.TokenIds.Ids.Count > 0:
                var bad = request.TokenIds.Ids.Where(id => id < 0 || id >= tokenizer.VocabSize || tokenizer.Special.Contains(id))
                    .Select(id => (int?)id).FirstOrDefault();
                if (bad is not null)
                    throw Invalid("token_ids", $"token id {bad} is not a text token of tokenizer '{tokenizer.Name}' (valid: 0..{tokenizer.VocabSize - 1}, excluding special tokens)");
                return [tokenizer.Special.Begin, .. request.TokenIds.Ids, tokenizer.Special.Separator];
            default:
                throw Invalid("text", "the prompt is empty: set text or token_ids");
        }
    }

    /// <summary>The rules every protocol shares, on a prompt already in token ids.</summary>
    /// <exception cref="RequestRejectedException">naming the field as <paramref name="names"/> spells it</exception>
    public GenerationRequest Validate(RequestInput input, IGenerationEngine engine, FieldNames names)
    {
        int context = engine.ContextWindow;
        if (input.Prompt.Count >= context)
            throw Invalid(names.Prompt, $"the prompt is {input.Prompt.Count} tokens (with control tokens) but the served context is {context} tokens; at most {context - 1} leave room to generate");

        if (input.MaxNewTokens < 0) throw Invalid(names.MaxNewTokens, $"{names.MaxNewTokens} must not be negative (got {input.MaxNewTokens})");
        int maxNew = input.MaxNewTokens == 0 ? options.DefaultMaxNewTokens : (int)Math.Min(input.MaxNewTokens, int.MaxValue);
        if (maxNew > options.MaxNewTokensLimit)
            throw Invalid(names.MaxNewTokens, $"{names.MaxNewTokens} {input.MaxNewTokens} exceeds this server's limit of {options.MaxNewTokensLimit}");

        var sampling = new SamplingSettings(input.Temperature, (int)Math.Clamp(input.TopK, int.MinValue, int.MaxValue), input.TopP);
        var problems = sampling.FieldProblems();
        if (problems.Count > 0) throw Invalid(problems[0].Field, string.Join("; ", problems.Select(p => p.Message)));

        string? domain = null;
        if (input.Domain.Length > 0 && !DomainResolution.IsReserved(input.Domain))
        {
            if (!engine.Domains.Contains(input.Domain))
                throw new RequestRejectedException(Rejection.NotFound, names.Domain, engine.Domains.Count == 0
                    ? $"unknown domain '{input.Domain}': the served model has no adapted domains yet; leave domain empty"
                    : $"unknown domain '{input.Domain}'; known domains: {string.Join(", ", engine.Domains)} (or empty / \"auto\" to infer it, \"none\" for the plain router)");
            domain = input.Domain;
        }

        if (input.Stops.Any(s => s.Length == 0)) throw Invalid(names.Stop, "stop sequences must not be empty");

        int seed = input.Seed is { } given ? unchecked((int)given) : Random.Shared.Next();
        return new GenerationRequest(input.Prompt, domain, maxNew, sampling, seed, input.Stops.ToList(), input.IgnoreEndOfText);
    }

    private static RequestRejectedException Invalid(string param, string message) => new(Rejection.Invalid, param, message);
}
