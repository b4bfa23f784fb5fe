using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using EcpayEvents.Ecpay;
using EcpayEvents.Testing;

namespace EcpayEvents.PaymentsApi.Tests;

public sealed class WithdrawalsAndTransactionsApiTests : IAsyncLifetime
{
    private PaymentsApiHost api = null!;

    public async ValueTask InitializeAsync() => api = await PaymentsApiHost.StartAsync("withdraw");

    public async ValueTask DisposeAsync()
    {
        await api.Database.AssertLedgerInvariantAsync();
        await api.DisposeAsync();
    }

    private Task<HttpResponseMessage> WithdrawAsync(long user, long amount) => api.Client.PostAsJsonAsync($"/users/{user}/withdrawals", new { amount });

    [Fact]
    public async Task AWithdrawalDebitsTheBalanceWithACompletedTransactionAndALedgerEntry()
    {
        var user = await api.CreateUserAsync();
        await api.CreditAsync(user, 1000);
        var response = await WithdrawAsync(user, 300);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var id = body.GetProperty("transactionId").GetInt64();
        Assert.Equal("completed", body.GetProperty("status").GetString());
        Assert.Equal(700, body.GetProperty("balance").GetInt64());
        Assert.Equal(700, (await api.Client.GetFromJsonAsync<JsonElement>($"/users/{user}")).GetProperty("balance").GetInt64());
        Assert.Equal(-300, await api.Database.ScalarAsync<long>("SELECT amount FROM ledger_entries WHERE transaction_id = @id", ("@id", id)));
        var t = await api.Client.GetFromJsonAsync<JsonElement>($"/transactions/{id}");
        Assert.Equal("withdrawal", t.GetProperty("type").GetString());
    }

    [Fact]
    public async Task WithdrawingMoreThanTheBalanceIs409AndWritesNothing()
    {
        var user = await api.CreateUserAsync();
        await api.CreditAsync(user, 100);
        var response = await WithdrawAsync(user, 101);
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Insufficient balance.", problem.GetProperty("title").GetString());
        Assert.Equal(100, problem.GetProperty("balance").GetInt64());
        Assert.Equal(1, await api.Database.ScalarAsync<long>("SELECT COUNT(*) FROM transactions WHERE user_id = @u", ("@u", user)));
        Assert.Equal(100, await api.Database.ScalarAsync<long>("SELECT balance FROM users WHERE id = @u", ("@u", user)));
    }

    [Theory]
    [InlineData("""{"amount":0}""", "amount")]
    [InlineData("""{"amount":-1}""", "amount")]
    [InlineData("""{"amount":2.5}""", "amount")]
    [InlineData("""{}""", "amount")]
    [InlineData("""{"amount":200000}""", "amount")]
    public async Task InvalidWithdrawalsAre400(string json, string field)
    {
        var user = await api.CreateUserAsync();
        await api.CreditAsync(user, 500);
        await AssertProblem.ValidationAsync(await api.Client.PostAsync($"/users/{user}/withdrawals", new StringContent(json, Encoding.UTF8, "application/json")), field);
        Assert.Equal(500, await api.Database.ScalarAsync<long>("SELECT balance FROM users WHERE id = @u", ("@u", user)));
    }

    [Fact]
    public async Task WithdrawalsForUnknownUsersAre404()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await WithdrawAsync(55555, 10)).StatusCode);
    }

    [Fact]
    public async Task ConcurrentWithdrawalsNeverOverdraw()
    {
        var user = await api.CreateUserAsync();
        await api.CreditAsync(user, 500);
        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => WithdrawAsync(user, 100)));
        Assert.Equal(5, responses.Count(r => r.StatusCode == HttpStatusCode.Created));
        Assert.Equal(15, responses.Count(r => r.StatusCode == HttpStatusCode.Conflict));
        Assert.Equal(0, await api.Database.ScalarAsync<long>("SELECT balance FROM users WHERE id = @u", ("@u", user)));
        Assert.Equal(5, await api.Database.ScalarAsync<long>("SELECT COUNT(*) FROM transactions WHERE user_id = @u AND type = 'withdrawal'", ("@u", user)));
        await api.Database.AssertLedgerInvariantAsync();
    }

    [Fact]
    public async Task PollingATransactionHasAnETagAnd304WhenUnchangedAndNoStore()
    {
        var user = await api.CreateUserAsync();
        var deposit = await (await api.Client.PostAsJsonAsync($"/users/{user}/deposits", new { amount = 100, paymentMethod = "Credit" })).Content.ReadFromJsonAsync<JsonElement>();
        var id = deposit.GetProperty("transactionId").GetInt64();

        var first = await api.Client.GetAsync($"/transactions/{id}");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.True(first.Headers.CacheControl!.NoStore);
        var etag = first.Headers.ETag!;
        Assert.Equal("pending", (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());

        var again = new HttpRequestMessage(HttpMethod.Get, $"/transactions/{id}");
        again.Headers.IfNoneMatch.Add(etag);
        var notModified = await api.Client.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Equal(etag, notModified.Headers.ETag);
        Assert.True(notModified.Headers.CacheControl!.NoStore);

        // Settlement completes it: the ETag changes and the new status is served.
        await api.Database.ExecuteAsync("""
            UPDATE transactions SET status = 'completed', paid_at = UTC_TIMESTAMP(6) WHERE id = @id;
            INSERT INTO ledger_entries (user_id, transaction_id, amount) VALUES (@u, @id, 100);
            UPDATE users SET balance = balance + 100 WHERE id = @u;
            """, ("@id", id), ("@u", user));
        var changed = new HttpRequestMessage(HttpMethod.Get, $"/transactions/{id}");
        changed.Headers.IfNoneMatch.Add(etag);
        var updated = await api.Client.SendAsync(changed);
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        Assert.NotEqual(etag, updated.Headers.ETag);
        Assert.Equal("completed", (await updated.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());

        await AssertProblem.ValidationAsync(await api.Client.GetAsync("/transactions/1x"), "id");
        Assert.Equal(HttpStatusCode.NotFound, (await api.Client.GetAsync("/transactions/999999")).StatusCode);
    }

    [Fact]
    public async Task TransactionsArePagedNewestFirstWithACursor()
    {
        var user = await api.CreateUserAsync();
        var other = await api.CreateUserAsync("mallory", "mallory@example.com");
        await api.CreditAsync(user, 1000);
        await api.CreditAsync(other, 1000);
        for (var i = 1; i <= 4; i++) (await WithdrawAsync(user, i)).EnsureSuccessStatusCode();
        (await WithdrawAsync(other, 7)).EnsureSuccessStatusCode();

        var seen = new List<long>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await api.Client.GetFromJsonAsync<JsonElement>($"/users/{user}/transactions?limit=2" + (cursor is null ? "" : $"&cursor={cursor}"));
            pages++;
            var items = page.GetProperty("items").EnumerateArray().ToList();
            Assert.All(items, t => Assert.Equal(user, t.GetProperty("userId").GetInt64()));
            seen.AddRange(items.Select(t => t.GetProperty("id").GetInt64()));
            cursor = page.GetProperty("nextCursor").ValueKind == JsonValueKind.Null ? null : page.GetProperty("nextCursor").GetString();
        } while (cursor is not null);

        Assert.Equal(3, pages);
        Assert.Equal(5, seen.Count);
        Assert.Equal(seen.OrderByDescending(x => x), seen);
        var json = await api.Client.GetStringAsync($"/users/{user}/transactions");
        Assert.DoesNotContain("@", json); // no emails in lists

        await AssertProblem.ValidationAsync(await api.Client.GetAsync($"/users/{user}/transactions?limit=0"), "limit");
        await AssertProblem.ValidationAsync(await api.Client.GetAsync($"/users/{user}/transactions?limit=101"), "limit");
        await AssertProblem.ValidationAsync(await api.Client.GetAsync($"/users/{user}/transactions?cursor=garbage!"), "cursor");
    }

    [Fact]
    public async Task TheOrderResultPageVerifiesTheMacShowsTheOrderAndChangesNothing()
    {
        var user = await api.CreateUserAsync();
        var deposit = await (await api.Client.PostAsJsonAsync($"/users/{user}/deposits", new { amount = 250, paymentMethod = "Credit" })).Content.ReadFromJsonAsync<JsonElement>();
        var tradeNo = deposit.GetProperty("merchantTradeNo").GetString()!;
        var fields = SignedEcpayPost.ReturnUrl(tradeNo, 250, tradeNo: "2601011200001234", paymentDate: "2026/01/01 12:00:05", tradeDate: "2026/01/01 12:00:00", paymentTypeChargeFee: "7");

        var ok = await api.Client.PostAsync("/ecpay/order-result", new StringContent(EcpayForm.ToFormBody(fields), Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var html = await ok.Content.ReadAsStringAsync();
        Assert.Contains(tradeNo, html);
        Assert.Contains("/transactions/", html);
        Assert.Equal("pending", await api.Database.ScalarAsync<string>("SELECT status FROM transactions WHERE merchant_trade_no = @m", ("@m", tradeNo)));

        var tampered = fields.Select(f => f.Key == "TradeAmt" ? new KeyValuePair<string, string>("TradeAmt", "99999") : f).ToList();
        var bad = await api.Client.PostAsync("/ecpay/order-result", new StringContent(EcpayForm.ToFormBody(tampered), Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("text/html", bad.Content.Headers.ContentType!.MediaType);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.Client.PostAsync("/ecpay/order-result", new StringContent("garbage%zz", Encoding.UTF8, "application/x-www-form-urlencoded"))).StatusCode);
        Assert.Equal("pending", await api.Database.ScalarAsync<string>("SELECT status FROM transactions WHERE merchant_trade_no = @m", ("@m", tradeNo)));
    }

    [Theory]
    [InlineData("expired", "0", true)]
    [InlineData("failed", "0", true)]
    [InlineData("expired", "1", false)]
    public async Task TheReturnPageSaysAPaymentAfterExpiryIsBeingConfirmedAndKeepsPolling(string status, string simulatePaid, bool late)
    {
        var user = await api.CreateUserAsync($"late{status}{simulatePaid}", $"late{status}{simulatePaid}@example.com");
        var deposit = await (await api.Client.PostAsJsonAsync($"/users/{user}/deposits", new { amount = 250, paymentMethod = "Credit" })).Content.ReadFromJsonAsync<JsonElement>();
        var tradeNo = deposit.GetProperty("merchantTradeNo").GetString()!;
        await api.Database.ExecuteAsync("UPDATE transactions SET status = @s WHERE merchant_trade_no = @m", ("@s", status), ("@m", tradeNo));
        var fields = SignedEcpayPost.ReturnUrl(tradeNo, 250, simulatePaid: simulatePaid, tradeNo: "2601011200001235", paymentDate: "2026/01/01 12:40:05", tradeDate: "2026/01/01 12:00:00", paymentTypeChargeFee: "7");
        var page = await api.Client.PostAsync("/ecpay/order-result", new StringContent(EcpayForm.ToFormBody(fields), Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        // The page itself says only what ECPay's post says (nothing read from the ledger: not the status);
        // the script, polling with the owner's token, says "late" and keeps polling (bounded) instead of stopping.
        Assert.Contains("<p data-testid=\"ecpay-message\">ECPay reports the payment succeeded; waiting for confirmation…</p>", html);
        Assert.DoesNotContain($">{status}<", html);
        Assert.Contains("messageEl.textContent = lateMessage", html);
        Assert.Contains(late ? "data-ecpay-paid=\"true\"" : "data-ecpay-paid=\"false\"", html);
        Assert.Contains("lateWindowMs = 120000", html);
        Assert.Contains("Math.min(Math.round(delay * 1.5), 10000)", html);
        Assert.Equal(status, await api.Database.ScalarAsync<string>("SELECT status FROM transactions WHERE merchant_trade_no = @m", ("@m", tradeNo)));
    }
}

public sealed class IdempotentWithdrawalTests : IAsyncLifetime
{
    private PaymentsApiHost api = null!;

    public async ValueTask InitializeAsync() => api = await PaymentsApiHost.StartAsync("idempotent");

    public async ValueTask DisposeAsync()
    {
        await api.Database.AssertLedgerInvariantAsync();
        await api.DisposeAsync();
    }

    private Task<HttpResponseMessage> WithdrawAsync(long user, long amount, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/users/{user}/withdrawals") { Content = JsonContent.Create(new { amount }) };
        request.Headers.Add("Idempotency-Key", key);
        return api.Client.SendAsync(request);
    }

    [Fact]
    public async Task ARetryWithTheSameKeyReplaysTheFirstWithdrawal()
    {
        var user = await api.CreateUserAsync();
        await api.CreditAsync(user, 1000);
        var first = await WithdrawAsync(user, 300, "withdraw-1");
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var retry = await WithdrawAsync(user, 300, "withdraw-1");
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal((await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("transactionId").GetInt64(),
            (await retry.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("transactionId").GetInt64());
        Assert.Equal(700, await api.Database.ScalarAsync<long>("SELECT balance FROM users WHERE id = @u", ("@u", user)));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await WithdrawAsync(user, 50, "withdraw-1")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await WithdrawAsync(user, 50, "withdraw-2")).StatusCode);
        await AssertProblem.ValidationAsync(await WithdrawAsync(user, 50, new string('k', 65)), "Idempotency-Key");
    }

    [Fact]
    public async Task ConcurrentRequestsWithOneKeyDebitOnce()
    {
        var user = await api.CreateUserAsync();
        await api.CreditAsync(user, 1000);
        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => WithdrawAsync(user, 100, "same-key")));
        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, r.StatusCode.ToString()));
        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        Assert.Equal(900, await api.Database.ScalarAsync<long>("SELECT balance FROM users WHERE id = @u", ("@u", user)));
    }

    [Fact]
    public async Task ConcurrentRequestsWithOneKeyForTheWholeBalanceAllSeeTheFirstWithdrawalNot409()
    {
        // The winner takes the whole balance; a loser's debit then finds 0 TWD — it must replay the
        // winner's withdrawal (same key, same amount), not answer "insufficient balance".
        for (var round = 0; round < 5; round++)
        {
            var user = await api.CreateUserAsync($"whole{round}", $"whole{round}@example.com");
            await api.CreditAsync(user, 500);
            var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => WithdrawAsync(user, 500, $"all-of-it-{round}")));
            foreach (var r in responses)
                Assert.True(r.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, $"{r.StatusCode}: {await r.Content.ReadAsStringAsync()}");
            Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
            var ids = await Task.WhenAll(responses.Select(async r => (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("transactionId").GetInt64()));
            Assert.Single(ids.Distinct());
            Assert.Equal(0, await api.Database.ScalarAsync<long>("SELECT balance FROM users WHERE id = @u", ("@u", user)));
        }
        // A different key still gets the 409 it deserves.
        var other = await api.CreateUserAsync("whole-other", "whole-other@example.com");
        Assert.Equal(HttpStatusCode.Conflict, (await WithdrawAsync(other, 500, "never-funded")).StatusCode);
    }
}
