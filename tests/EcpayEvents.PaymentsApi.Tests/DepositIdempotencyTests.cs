using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Payments.Deposits;
using Microsoft.Extensions.DependencyInjection.Extensions;
using EcpayEvents.Payments.Timeouts;
using EcpayEvents.Testing;

namespace EcpayEvents.PaymentsApi.Tests;

/// <summary>
/// POST /users/{id}/deposits with an Idempotency-Key: a retry after a lost answer must not create a second
/// ECPay order (a second MerchantTradeNo, a second timer).
/// </summary>
public sealed class DepositIdempotencyTests : IAsyncLifetime
{
    private readonly CountingScheduler scheduler = new();
    private PaymentsApiHost api = null!;

    public async ValueTask InitializeAsync() =>
        api = await PaymentsApiHost.StartAsync("depositkeys", s => s.Replace(ServiceDescriptor.Singleton<IPaymentTimeoutScheduler>(scheduler)));

    public async ValueTask DisposeAsync()
    {
        await api.Database.AssertLedgerInvariantAsync();
        await api.DisposeAsync();
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> DepositAsync(long userId, object body, string? key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/users/{userId}/deposits") { Content = JsonContent.Create(body) };
        if (key is not null) request.Headers.Add("Idempotency-Key", key);
        using var response = await api.Client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    private Task<long> DepositsAsync(long userId) =>
        api.Database.ScalarAsync<long>("SELECT COUNT(*) FROM transactions WHERE user_id = @u AND type = 'deposit'", ("@u", userId));

    [Fact]
    public async Task TheSameKeyAndBodyReturnTheFirstDepositAndCreateNoSecondOrder()
    {
        var user = await api.CreateUserAsync();
        var body = new { amount = 500, paymentMethod = "Credit", itemName = "Points" };

        var (firstStatus, first) = await DepositAsync(user, body, "retry-1");
        var (againStatus, again) = await DepositAsync(user, body, "retry-1");

        Assert.Equal((HttpStatusCode.Created, HttpStatusCode.OK), (firstStatus, againStatus));
        Assert.Equal(first.GetProperty("transactionId").GetInt64(), again.GetProperty("transactionId").GetInt64());
        Assert.Equal(first.GetProperty("merchantTradeNo").GetString(), again.GetProperty("merchantTradeNo").GetString());
        Assert.Equal(first.GetProperty("checkoutUrl").GetString(), again.GetProperty("checkoutUrl").GetString());
        Assert.Equal(first.GetProperty("expiresAt").GetDateTimeOffset(), again.GetProperty("expiresAt").GetDateTimeOffset());
        Assert.Equal(1, await DepositsAsync(user));
        Assert.Single(scheduler.Scheduled);
        // The method is compared as ECPay gets it: "credit" is the same request.
        Assert.Equal(HttpStatusCode.OK, (await DepositAsync(user, new { amount = 500, paymentMethod = "credit", itemName = "Points" }, "retry-1")).Status);
    }

    [Fact]
    public async Task AReplayReportsTheDepositAsItIsNow()
    {
        var user = await api.CreateUserAsync();
        var (_, first) = await DepositAsync(user, new { amount = 300, paymentMethod = "Credit" }, "paid-then-retried");
        await api.Database.ExecuteAsync("UPDATE transactions SET status = 'completed' WHERE id = @id", ("@id", first.GetProperty("transactionId").GetInt64()));
        await api.Database.ExecuteAsync("INSERT INTO ledger_entries (user_id, transaction_id, amount) VALUES (@u, @t, 300); UPDATE users SET balance = 300 WHERE id = @u",
            ("@u", user), ("@t", first.GetProperty("transactionId").GetInt64()));

        var (status, again) = await DepositAsync(user, new { amount = 300, paymentMethod = "Credit" }, "paid-then-retried");
        Assert.Equal((HttpStatusCode.OK, "completed"), (status, again.GetProperty("status").GetString()));
    }

    [Theory]
    [InlineData(501, "Credit", "Points")]
    [InlineData(500, "ATM", "Points")]
    [InlineData(500, "Credit", "Other points")]
    public async Task TheSameKeyWithAnotherBodyIs422AndCreatesNothing(long amount, string method, string item)
    {
        var user = await api.CreateUserAsync($"k{amount}{method}{item.Length}", $"k{amount}{method}{item.Length}@example.com");
        Assert.Equal(HttpStatusCode.Created, (await DepositAsync(user, new { amount = 500, paymentMethod = "Credit", itemName = "Points" }, "k")).Status);

        var (status, problem) = await DepositAsync(user, new { amount, paymentMethod = method, itemName = item }, "k");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Equal(422, problem.GetProperty("status").GetInt32());
        Assert.Equal(1, await DepositsAsync(user));
    }

    [Fact]
    public async Task AKeyAlreadyUsedForAWithdrawalIs422()
    {
        var user = await api.CreateUserAsync();
        await api.CreditAsync(user, 100);
        using var withdrawal = new HttpRequestMessage(HttpMethod.Post, $"/users/{user}/withdrawals") { Content = JsonContent.Create(new { amount = 10 }) };
        withdrawal.Headers.Add("Idempotency-Key", "shared");
        Assert.Equal(HttpStatusCode.Created, (await api.Client.SendAsync(withdrawal)).StatusCode);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await DepositAsync(user, new { amount = 10, paymentMethod = "Credit" }, "shared")).Status);
    }

    [Fact]
    public async Task AKeyAlreadyUsedForADepositIs422ForAWithdrawal()
    {
        var user = await api.CreateUserAsync();
        await api.CreditAsync(user, 100);
        Assert.Equal(HttpStatusCode.Created, (await DepositAsync(user, new { amount = 100, paymentMethod = "Credit" }, "shared-d")).Status);
        using var withdrawal = new HttpRequestMessage(HttpMethod.Post, $"/users/{user}/withdrawals") { Content = JsonContent.Create(new { amount = 100 }) };
        withdrawal.Headers.Add("Idempotency-Key", "shared-d");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await api.Client.SendAsync(withdrawal)).StatusCode);
        Assert.Equal(100, await api.Database.ScalarAsync<long>("SELECT balance FROM users WHERE id = @id", ("@id", user)));
    }

    [Fact]
    public async Task KeysAreTheUsersOwn()
    {
        var alice = await api.CreateUserAsync("alicek", "alicek@example.com");
        var bob = await api.CreateUserAsync("bobk", "bobk@example.com");
        var (_, a) = await DepositAsync(alice, new { amount = 200, paymentMethod = "Credit" }, "same-key");
        var (status, b) = await DepositAsync(bob, new { amount = 200, paymentMethod = "Credit" }, "same-key");
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.NotEqual(a.GetProperty("transactionId").GetInt64(), b.GetProperty("transactionId").GetInt64());
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("0123456789012345678901234567890123456789012345678901234567890123x")] // 65 characters
    public async Task AnInvalidKeyIsABadRequest(string key)
    {
        var user = await api.CreateUserAsync();
        var (status, problem) = await DepositAsync(user, new { amount = 200, paymentMethod = "Credit" }, key);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.True(problem.GetProperty("errors").TryGetProperty("Idempotency-Key", out _));
        Assert.Equal(0, await DepositsAsync(user));
    }

    [Fact]
    public async Task ConcurrentRetriesWithOneKeyCreateOneDeposit()
    {
        var user = await api.CreateUserAsync();
        var body = new { amount = 700, paymentMethod = "Credit" };
        // The scheduler holds the first request inside its database transaction while the others arrive.
        var key = "burst-" + Guid.NewGuid().ToString("N");
        scheduler.Hold();
        var requests = Enumerable.Range(0, 6).Select(_ => DepositAsync(user, body, key)).ToList();
        await scheduler.FirstCall;
        // Others wait on the first one's uncommitted key (the server shows their lock waits) until it commits
        // — then they replay it (200) — or until MariaDB's lock wait ends — then 409 "in progress, retry".
        // Released as soon as a wait is seen, or once every other request has answered. innodb_trx is a snapshot that
        // only refreshes after 100 ms unread: read at RowLockWaits.PollInterval, not faster (it would never change).
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && requests.Count(r => !r.IsCompleted) > 1 && await api.Database.ScalarAsync<long>(
            "SELECT COUNT(*) FROM information_schema.innodb_trx WHERE trx_state = 'LOCK WAIT' AND trx_query LIKE CONCAT('%', @key, '%')", ("@key", key)) < 1)
            await Task.Delay(RowLockWaits.PollInterval);
        scheduler.Release();
        var answers = await Task.WhenAll(requests);

        Assert.Single(answers, a => a.Status == HttpStatusCode.Created);
        Assert.All(answers, a => Assert.Contains(a.Status, new[] { HttpStatusCode.Created, HttpStatusCode.OK, HttpStatusCode.Conflict }));
        Assert.All(answers.Where(a => a.Status == HttpStatusCode.Conflict), a => Assert.Equal("A request with this Idempotency-Key is in progress.", a.Body.GetProperty("title").GetString()));
        Assert.Single(answers.Where(a => a.Status != HttpStatusCode.Conflict).Select(a => a.Body.GetProperty("transactionId").GetInt64()).Distinct());
        Assert.Equal(1, await DepositsAsync(user));
        Assert.Single(scheduler.Scheduled);
    }

    private sealed class CountingScheduler : IPaymentTimeoutScheduler
    {
        private readonly TaskCompletionSource firstCall = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private TaskCompletionSource? gate;

        public ConcurrentQueue<PaymentTimeoutInput> Scheduled { get; } = new();

        public Task FirstCall => firstCall.Task;

        public void Hold() => gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => gate?.TrySetResult();

        public async Task ScheduleAsync(PaymentTimeoutInput timeout, CancellationToken ct)
        {
            Scheduled.Enqueue(timeout);
            firstCall.TrySetResult();
            if (gate is not null) await gate.Task;
        }
    }
}
