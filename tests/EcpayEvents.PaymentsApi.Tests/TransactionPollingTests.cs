using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace EcpayEvents.PaymentsApi.Tests;

/// <summary>
/// GET /transactions/{id}: isFinal means the status never changes again, so a frontend may stop polling. An
/// expired (or failed) deposit can still be completed by a late payment for a day: it is not final yet.
/// </summary>
public sealed class TransactionPollingTests : IAsyncLifetime
{
    private PaymentsApiHost api = null!;

    public async ValueTask InitializeAsync() => api = await PaymentsApiHost.StartAsync("polling");

    public async ValueTask DisposeAsync()
    {
        await api.Database.AssertLedgerInvariantAsync();
        await api.DisposeAsync();
    }

    private async Task<long> DepositAsync(long user) =>
        (await (await api.Client.PostAsJsonAsync($"/users/{user}/deposits", new { amount = 400, paymentMethod = "Credit" })).Content.ReadFromJsonAsync<JsonElement>())
            .GetProperty("transactionId").GetInt64();

    private async Task<(JsonElement Body, string? PollAfter)> PollAsync(long id)
    {
        using var response = await api.Client.GetAsync($"/transactions/{id}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>(), response.Headers.TryGetValues("Poll-After", out var v) ? v.Single() : null);
    }

    [Fact]
    public async Task APendingDepositIsNotFinalAndSaysWhenToPollAgain()
    {
        var id = await DepositAsync(await api.CreateUserAsync());
        var (body, pollAfter) = await PollAsync(id);
        Assert.False(body.GetProperty("isFinal").GetBoolean());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("finalAt").ValueKind);
        Assert.Equal("3", pollAfter);
    }

    [Theory]
    [InlineData("expired")]
    [InlineData("failed")]
    public async Task AnExpiredDepositIsNotFinalWhileALatePaymentCanStillCompleteIt(string status)
    {
        var user = await api.CreateUserAsync($"p{status}", $"p{status}@example.com");
        var id = await DepositAsync(user);
        await api.Database.ExecuteAsync("UPDATE transactions SET status = @s, updated_at = UTC_TIMESTAMP(6) WHERE id = @id", ("@s", status), ("@id", id));

        var (body, pollAfter) = await PollAsync(id);
        Assert.Equal(status, body.GetProperty("status").GetString());
        Assert.False(body.GetProperty("isFinal").GetBoolean());
        Assert.InRange(body.GetProperty("finalAt").GetDateTimeOffset(), DateTimeOffset.UtcNow.AddHours(23), DateTimeOffset.UtcNow.AddHours(25));
        Assert.Equal("60", pollAfter);

        // The late payment (as Settlement credits it): what the frontend saw as not final did change.
        await api.Database.ExecuteAsync("""
            UPDATE transactions SET status = 'completed', updated_at = UTC_TIMESTAMP(6) WHERE id = @id;
            INSERT INTO ledger_entries (user_id, transaction_id, amount) VALUES (@u, @id, 400);
            UPDATE users SET balance = balance + 400 WHERE id = @u;
            """, ("@id", id), ("@u", user));
        (body, pollAfter) = await PollAsync(id);
        Assert.Equal(("completed", true, null), (body.GetProperty("status").GetString(), body.GetProperty("isFinal").GetBoolean(), pollAfter));
    }

    [Fact]
    public async Task AnExpiredDepositBecomesFinalADayLaterAndTheETagSaysSo()
    {
        var id = await DepositAsync(await api.CreateUserAsync());
        await api.Database.ExecuteAsync("UPDATE transactions SET status = 'expired', updated_at = UTC_TIMESTAMP(6) - INTERVAL 23 HOUR WHERE id = @id", ("@id", id));
        using var before = await api.Client.GetAsync($"/transactions/{id}");
        var etag = before.Headers.ETag!;

        await api.Database.ExecuteAsync("UPDATE transactions SET updated_at = updated_at - INTERVAL 2 HOUR WHERE id = @id", ("@id", id));
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/transactions/{id}");
        request.Headers.IfNoneMatch.Add(etag);
        using var after = await api.Client.SendAsync(request);

        // Not 304: isFinal changed, so the body did. No Poll-After any more: stop.
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        var body = await after.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(("expired", true), (body.GetProperty("status").GetString(), body.GetProperty("isFinal").GetBoolean()));
        Assert.False(after.Headers.Contains("Poll-After"));
    }

    [Fact]
    public async Task WithdrawalsAndCompletedDepositsAreFinalAtOnce()
    {
        var user = await api.CreateUserAsync();
        await api.CreditAsync(user, 100);
        var withdrawal = await (await api.Client.PostAsJsonAsync($"/users/{user}/withdrawals", new { amount = 40 })).Content.ReadFromJsonAsync<JsonElement>();
        var (body, pollAfter) = await PollAsync(withdrawal.GetProperty("transactionId").GetInt64());
        Assert.Equal((true, null), (body.GetProperty("isFinal").GetBoolean(), pollAfter));

        var page = await (await api.Client.GetAsync($"/users/{user}/transactions")).Content.ReadFromJsonAsync<JsonElement>();
        Assert.All(page.GetProperty("items").EnumerateArray(), t => Assert.True(t.GetProperty("isFinal").GetBoolean()));
    }
}
