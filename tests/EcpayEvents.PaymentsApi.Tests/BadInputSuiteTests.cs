using System.Net;
using EcpayEvents.Ecpay;
using EcpayEvents.Testing;
using EcpayEvents.Testing.BadInput;

namespace EcpayEvents.PaymentsApi.Tests;

/// <summary>
/// Generated hostile requests against every PaymentsApi route (short run here; the full run is
/// <c>BAD_INPUT_REQUESTS=10000</c>, see the README): only 4xx, the service stays up, nothing written.
/// </summary>
public sealed class BadInputSuiteTests : IAsyncLifetime
{
    private PaymentsApiHost api = null!;

    public async ValueTask InitializeAsync() => api = await PaymentsApiHost.StartAsync("badinput");

    public async ValueTask DisposeAsync()
    {
        await api.Database.AssertLedgerInvariantAsync();
        await api.DisposeAsync();
    }

    /// <summary>Everything a request could change: rows, balances, statuses, checkout starts, review marks.</summary>
    private const string SnapshotSql = """
        SELECT CONCAT_WS('|',
          (SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(balance), 0), ':', COALESCE(SUM(CRC32(CONCAT_WS(',', id, username, email))), 0)) FROM users),
          (SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32(CONCAT_WS(',', id, status, amount, checkout_started_at, updated_at, review_reason, idempotency_key))), 0)) FROM transactions),
          (SELECT COUNT(*) FROM ledger_entries),
          (SELECT COUNT(*) FROM payment_events))
        """;

    [Fact]
    public async Task EveryRouteAnswersGeneratedBadInputWith4xxOnlyAndWritesNothing()
    {
        // A user with no balance (a valid withdrawal is 409), a completed deposit of another user (its
        // checkout is 409), and a pending deposit nobody may touch.
        var rich = await api.CreateUserAsync("rich_user", "rich@example.com");
        await api.CreditAsync(rich, 500);
        var poor = await api.CreateUserAsync("poor_user", "poor@example.com");
        // Every request is signed in as the poor user, so it gets past the 401 to the validation (their own
        // routes) or to the 404 of someone else's.
        var token = api.Current!.AccessToken;
        var completed = await api.Database.ScalarAsync<long>("SELECT MAX(id) FROM transactions");
        var completedNo = await api.Database.ScalarAsync<string>("SELECT merchant_trade_no FROM transactions WHERE id = @id", ("@id", completed));
        await api.Database.ExecuteAsync("""
            INSERT INTO transactions (user_id, type, amount, status, merchant_trade_no, payment_method, expires_at)
            VALUES (@u, 'deposit', 300, 'pending', 'TPENDINGCANARY000001', 'Credit', UTC_TIMESTAMP(6) + INTERVAL 1 HOUR)
            """, ("@u", poor));
        var before = await api.Database.ScalarAsync<string>(SnapshotSql);

        var orderResult = SignedEcpayPost.ReturnUrl(completedNo, 500);

        const string Nobody = "987654321";
        EndpointSpec[] endpoints =
        [
            new("POST /users", "POST", "/users", BodyKind.Json, JsonFields: new Dictionary<string, string> { ["username"] = "\"new_user\"", ["email"] = "\"new@example.com\"" }),
            new("GET /users/{id}", "GET", "/users/{id}", BodyKind.None, Nobody),
            new("GET /users/{id}/transactions", "GET", "/users/{id}/transactions", BodyKind.None, $"{poor}"),
            new("POST /users/{id}/deposits", "POST", "/users/{id}/deposits", BodyKind.Json, $"{poor}", JsonFields: new Dictionary<string, string> { ["amount"] = "100", ["paymentMethod"] = "\"Credit\"" }),
            new("POST /users/{id}/withdrawals", "POST", "/users/{id}/withdrawals", BodyKind.Json, $"{poor}", JsonFields: new Dictionary<string, string> { ["amount"] = "100" }),
            new("GET /transactions/{id}", "GET", "/transactions/{id}", BodyKind.None, Nobody),
            new("GET /checkout/{id}", "GET", "/checkout/{id}", BodyKind.None, $"{completed}"),
            new("POST /ecpay/order-result", "POST", "/ecpay/order-result", BodyKind.EcpayForm, FormFields: orderResult),
        ];

        var seed = BadInputSuite.Seed;
        var results = new List<BadInputSuite.EndpointResult>();
        foreach (var (endpoint, i) in endpoints.Select((e, i) => (e, i)))
        {
            results.Add(await BadInputSuite.RunAsync(api.BaseAddress, endpoint, BadInputSuite.RequestsPerEndpoint, seed + i,
                configure: g => g.Headers.Add(("Authorization", $"Bearer {token}")), ct: TestContext.Current.CancellationToken));
            Assert.Equal(HttpStatusCode.OK, (await api.Client.GetAsync("/healthz")).StatusCode);
        }

        var table = BadInputSuite.Table(results, seed) + BadInputSuite.Categories(results) + "\n";
        TestContext.Current.TestOutputHelper?.WriteLine(table);
        BadInputSuite.Save("payments-api", table);
        foreach (var r in results)
            Assert.True(r.S4xx == r.Requests, $"{r.Name}: {r.Requests - r.S4xx} of {r.Requests} not 4xx\n{table}\n{string.Join("\n", r.Unexpected)}");
        Assert.Equal(before, await api.Database.ScalarAsync<string>(SnapshotSql));
    }
}
