using System.Net;
using EcpayEvents.Hosting;
using EcpayEvents.Testing;

namespace EcpayEvents.Settlement.Tests;

/// <summary>Settlement's /events (SQS batches from the event source): a body Kestrel cannot read is a 400, never a 500.</summary>
public sealed class SettlementHostileRequestTests : IAsyncLifetime
{
    private SettlementStack s = null!;

    public async ValueTask InitializeAsync() => s = await SettlementStack.StartAsync("settlehostile", startRunner: false);

    public async ValueTask DisposeAsync() => await s.DisposeAsync();

    [Fact]
    public async Task AMalformedChunkedBatchIs400AndTheServiceStaysUp()
    {
        var server = s.Settlement.BoundAddress();
        var answer = await RawHttp.SendAsync(server, RawHttp.MalformedChunkedPost(server, "/events", "application/json"));
        Assert.True(answer.Status == 400, answer.Head + "\n" + answer.Body);
        Assert.DoesNotContain("Exception", answer.Body);
        Assert.Equal(HttpStatusCode.OK, (await s.Http.GetAsync(new Uri(server, "/healthz"))).StatusCode);
        Assert.Equal(0, await s.Db.ScalarAsync<long>("SELECT COUNT(*) FROM payment_events"));
    }
}
