using DesMoe.Formats.Files;
using DesMoe.Formats.Config;
using DesMoe.Server.Options;
using Xunit;

namespace DesMoe.Tests.Server;

/// <summary>The default intra-op threads follow the model's size; an explicit DesMoe:Threads always wins.</summary>
public sealed class InferenceThreadsTests
{
    private static MoeConfig Bundled() => MoeConfig.Load(Path.Combine(BundledModel.StringSkillsFolder, MoeConfig.FileName));

    [Fact]
    public void A_small_model_decodes_on_one_thread_and_a_larger_one_on_every_core()
    {
        var small = Bundled();
        var large = small with { HiddenSize = ServerOptions.SmallModelHiddenSize };

        Assert.True(small.HiddenSize < ServerOptions.SmallModelHiddenSize);
        Assert.Equal(1, new ServerOptions().InferenceThreads(small));
        Assert.Equal(0, new ServerOptions().InferenceThreads(large)); // 0: ONNX Runtime's own default, one per core
    }

    [Fact]
    public void Configured_threads_are_used_whatever_the_model()
    {
        var options = new ServerOptions { Threads = 3 };
        Assert.Equal(3, options.InferenceThreads(Bundled()));
        Assert.Equal(3, options.InferenceThreads(Bundled() with { HiddenSize = 4096 }));
    }
}
