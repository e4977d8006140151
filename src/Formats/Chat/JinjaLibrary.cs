using Acornima.Ast;
using Jint;

namespace DesMoe.Formats.Chat;

/// <summary>
/// The vendored @huggingface/jinja (Vendor/huggingface-jinja.cjs, transformers.js's Jinja engine), parsed once per
/// process. Its CommonJS build is used because Jint runs a plain script from a <see cref="Prepared{T}"/> AST that
/// every engine shares, so a new engine only executes it, where ES modules are added to each engine as source text
/// and parsed again. The file is self-contained (no require or import), so a two-line <c>module</c> shim suffices.
/// </summary>
internal static class JinjaLibrary
{
    const string ResourceName = "DesMoe.Formats.Chat.huggingface-jinja.cjs";

    /// <summary>Wall-clock budget of one parse or render; real templates take well under a millisecond.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    /// <summary>JavaScript call depth; the interpreter recurses per nested Jinja node, real templates stay far below.</summary>
    public const int MaxRecursion = 400;

    /// <summary>Largest array a template may build (e.g. <c>range(n)</c>); stops the allocation long before the timeout would.</summary>
    public const uint MaxArraySize = 1_000_000;

    static readonly Lazy<Prepared<Script>> Library = new(() =>
    {
        using Stream stream = typeof(JinjaLibrary).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"embedded resource {ResourceName} is missing from {typeof(JinjaLibrary).Assembly.GetName().Name}");
        using var reader = new StreamReader(stream);
        return Engine.PrepareScript(reader.ReadToEnd(), "huggingface-jinja.cjs");
    });

    static readonly Prepared<Script> ModuleShim = Engine.PrepareScript("var module = { exports: {} }; var exports = module.exports;");

    /// <summary>A fresh engine, limited, with the library's exports in the global <c>module.exports</c>.</summary>
    public static Engine NewEngine()
    {
        var engine = new Engine(options =>
        {
            options.TimeoutInterval(Timeout);
            options.LimitRecursion(MaxRecursion);
            options.Constraints.MaxArraySize = MaxArraySize;
        });
        engine.Execute(ModuleShim);
        engine.Execute(Library.Value);
        return engine;
    }
}
