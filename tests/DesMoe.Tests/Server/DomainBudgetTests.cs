using DesMoe.Formats.Data;
using DesMoe.Protos.V1;
using DesMoe.Tests.Support;
using Grpc.Core;
using Xunit;

namespace DesMoe.Tests.Server;

public sealed class DomainBudgetTests
{
    [Fact]
    public async Task An_addition_whose_copies_pass_the_memory_budget_is_refused_naming_both_figures_and_queues_nothing()
    {
        using var data = new TempDirectory();
        // One domain of the bundled model is 4 copies x 4 layers x 24,576 parameters x 4 bytes = 1.57 MB.
        await using var server = await LoopbackServer.StartAsync(data.Path, "--DesMoe:Adaptation:MaxDomainBytes=1000000");
        var intent = DatasetSplit.Create(DomainCatalog.Get("intent"), 200, 20, seed: 2);

        var refused = await Assert.ThrowsAsync<RpcException>(() => server.Admin.AddDomainAsync("intent", intent.Train, intent.Eval, steps: 5));

        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.Contains("another takes 1.57 MB", refused.Status.Detail);
        Assert.Contains("MaxDomainBytes (1.00 MB)", refused.Status.Detail);
        Assert.Empty((await server.Admin.ListJobsAsync(new ListJobsRequest())).Jobs);
    }
}
