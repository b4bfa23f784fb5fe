using EcpayEvents.Testing;
using System.Net;
using EcpayEvents.Hosting;
using EcpayEvents.Testing.BadInput;

namespace EcpayEvents.Settlement.Tests;

/// <summary>
/// Generated hostile posts to ECPay's two callbacks, through the whole path (Notifications → SQS →
/// Settlement → MariaDB): only 4xx (or the documented 503), the service stays up, and the database
/// gains nothing but rejected-post records. Short run here; <c>BAD_INPUT_REQUESTS=10000</c> for the full one.
/// </summary>
public sealed class NotificationsBadInputSuiteTests : IAsyncLifetime
{
    private SettlementStack s = null!;

    public async ValueTask InitializeAsync() => s = await SettlementStack.StartAsync("badinput");

    public async ValueTask DisposeAsync()
    {
        await s.Db.AssertLedgerInvariantAsync();
        await s.DisposeAsync();
    }

    private const string SnapshotSql = """
        SELECT CONCAT_WS('|',
          (SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(balance), 0)) FROM users),
          (SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32(CONCAT_WS(',', id, status, amount, updated_at, review_reason))), 0)) FROM transactions),
          (SELECT COUNT(*) FROM ledger_entries),
          (SELECT COUNT(*) FROM payment_events WHERE outcome <> 'rejected'))
        """;

    [Fact]
    public async Task BothCallbacksAnswerGeneratedBadInputWith4xxOnlyAndCreditNothing()
    {
        var deposit = await s.SeedDepositAsync(amount: 500);
        var before = await s.Db.ScalarAsync<string>(SnapshotSql);
        var paid = SignedEcpayPost.ReturnUrl(deposit.MerchantTradeNo, 500);
        var issued = SignedEcpayPost.AtmIssued(deposit.MerchantTradeNo, 500);
        EndpointSpec[] endpoints =
        [
            new("POST /ecpay/return", "POST", "/ecpay/return", BodyKind.EcpayForm, FormFields: paid),
            new("POST /ecpay/payment-info", "POST", "/ecpay/payment-info", BodyKind.EcpayForm, FormFields: issued),
        ];

        var seed = BadInputSuite.Seed;
        var results = new List<BadInputSuite.EndpointResult>();
        using var http = new HttpClient();
        foreach (var (endpoint, i) in endpoints.Select((e, i) => (e, i)))
        {
            results.Add(await BadInputSuite.RunAsync(s.NotificationsUrl, endpoint, BadInputSuite.RequestsPerEndpoint, seed + i,
                allowed: new HashSet<int> { 503 }, ct: TestContext.Current.CancellationToken));
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(s.NotificationsUrl, "/healthz"))).StatusCode);
        }

        var table = BadInputSuite.Table(results, seed) + BadInputSuite.Categories(results) + "\n";
        TestContext.Current.TestOutputHelper?.WriteLine(table);
        BadInputSuite.Save("notifications", table);
        foreach (var r in results)
            Assert.True(r.S4xx == r.Requests, $"{r.Name}: {r.Requests - r.S4xx} of {r.Requests} not 4xx\n{table}\n{string.Join("\n", r.Unexpected)}");

        // Nothing was acknowledged, so nothing reached Settlement: after a genuine post and a drained queue,
        // its event is the only one recorded (anything enqueued by the suite would have been applied too).
        await s.PostAcknowledgedAsync("/ecpay/payment-info", SignedEcpayPost.AtmIssued(deposit.MerchantTradeNo, 500));
        await s.WaitForQueueDrainedAsync();
        Assert.Equal(0, await s.DeadLetteredAsync());
        Assert.Equal(1, await s.Db.ScalarAsync<long>("SELECT COUNT(*) FROM payment_events"));
        Assert.Equal(0, await s.Db.ScalarAsync<long>("SELECT COUNT(*) FROM ledger_entries"));
        Assert.NotEqual(before, await s.Db.ScalarAsync<string>(SnapshotSql)); // the snapshot does see a recorded event
    }
}
