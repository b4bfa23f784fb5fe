using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using EcpayEvents.Ecpay;
using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Payments.Deposits;
using Microsoft.Extensions.DependencyInjection.Extensions;
using EcpayEvents.Payments.Timeouts;

namespace EcpayEvents.PaymentsApi.Tests;

public sealed class DepositsApiTests : IAsyncLifetime
{
    private readonly RecordingScheduler scheduler = new();
    private PaymentsApiHost api = null!;

    public async ValueTask InitializeAsync() =>
        api = await PaymentsApiHost.StartAsync("deposits", s => s.Replace(ServiceDescriptor.Singleton<IPaymentTimeoutScheduler>(scheduler)),
            "--PaymentsApi:Deposit:Expiry:Online=00:02:00", "--PaymentsApi:Deposit:Expiry:Atm=00:05:00", "--PaymentsApi:Deposit:Expiry:Cvs=00:04:00",
            "--PaymentsApi:Deposit:Expiry:Barcode=00:03:00");

    public async ValueTask DisposeAsync()
    {
        await api.Database.AssertLedgerInvariantAsync();
        await api.DisposeAsync();
    }

    private Task<HttpResponseMessage> DepositAsync(long userId, object body) => api.Client.PostAsJsonAsync($"/users/{userId}/deposits", body);

    [Fact]
    public async Task ADepositIsPendingWithAFreshMerchantTradeNoAnExpiryAndAScheduledTimeout()
    {
        var user = await api.CreateUserAsync();
        var before = DateTimeOffset.UtcNow;
        var response = await DepositAsync(user, new { amount = 500, paymentMethod = "Credit" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var id = body.GetProperty("transactionId").GetInt64();
        var tradeNo = body.GetProperty("merchantTradeNo").GetString()!;
        Assert.Equal($"/transactions/{id}", response.Headers.Location!.OriginalString);
        Assert.Equal("pending", body.GetProperty("status").GetString());
        Assert.Equal(500, body.GetProperty("amount").GetInt64());
        Assert.Matches($"^http://127\\.0\\.0\\.1:5080/checkout/{id}\\?expires=[0-9]+&sig=[A-Za-z0-9_-]{{43}}$", body.GetProperty("checkoutUrl").GetString());
        Assert.Matches("^EE[0-9A-Z]{18}$", tradeNo);
        var expiresAt = body.GetProperty("expiresAt").GetDateTimeOffset();
        Assert.InRange(expiresAt, before.AddMinutes(2).AddSeconds(-1), DateTimeOffset.UtcNow.AddMinutes(2).AddSeconds(1));

        var timeout = Assert.Single(scheduler.Scheduled);
        Assert.Equal(id, timeout.TransactionId);
        Assert.Equal(tradeNo, timeout.MerchantTradeNo);
        Assert.Equal(expiresAt, timeout.ExpiresAt);
        Assert.Equal("pending", await api.Database.ScalarAsync<string>("SELECT status FROM transactions WHERE id = @id", ("@id", id)));
    }

    [Fact]
    public async Task MerchantTradeNumbersAreNeverReused()
    {
        var user = await api.CreateUserAsync();
        var numbers = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 30), async (_, _) =>
        {
            var r = await DepositAsync(user, new { amount = 100, paymentMethod = "ATM" });
            numbers.Add((await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("merchantTradeNo").GetString()!);
        });
        Assert.Equal(30, numbers.Distinct().Count());
    }

    [Theory]
    [InlineData("""{"amount":0,"paymentMethod":"Credit"}""", "amount")]
    [InlineData("""{"amount":-5,"paymentMethod":"ATM"}""", "amount")]
    [InlineData("""{"amount":4,"paymentMethod":"Credit"}""", "amount")]
    [InlineData("""{"amount":200000,"paymentMethod":"ATM"}""", "amount")]
    [InlineData("""{"amount":1.5,"paymentMethod":"ATM"}""", "amount")]
    [InlineData("""{"amount":"100","paymentMethod":"ATM"}""", "amount")]
    [InlineData("""{"paymentMethod":"ATM"}""", "amount")]
    [InlineData("""{"amount":100,"paymentMethod":"Bitcoin"}""", "paymentMethod")]
    [InlineData("""{"amount":100}""", "paymentMethod")]
    [InlineData("""{"amount":100,"paymentMethod":"ATM","itemName":"   "}""", "itemName")]
    public async Task InvalidDepositsAre400ProblemsAndWriteNothing(string json, string field)
    {
        var user = await api.CreateUserAsync();
        var response = await api.Client.PostAsync($"/users/{user}/deposits", new StringContent(json, Encoding.UTF8, "application/json"));
        await AssertProblem.ValidationAsync(response, field);
        Assert.Equal(0, await api.Database.ScalarAsync<long>("SELECT COUNT(*) FROM transactions"));
        Assert.Empty(scheduler.Scheduled);
    }

    // ECPay's per-method TotalAmount limits (CheckoutForm.AmountLimitsByMethod) apply to deposits: one beyond is a 400 naming the range.
    [Theory]
    [InlineData("ATM", 11, 49_999)]
    [InlineData("WebATM", 11, 49_999)]
    [InlineData("CVS", 33, 6_000)]
    [InlineData("BARCODE", 17, 20_000)]
    [InlineData("Credit", 5, 199_999)]
    public async Task DepositsOutsideTheMethodsEcpayLimitsAre400ProblemsNamingTheLimit(string method, long min, long max)
    {
        var user = await api.CreateUserAsync();
        foreach (var amount in new[] { min - 1, max + 1 })
        {
            var response = await DepositAsync(user, new { amount, paymentMethod = method });
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var problem = await response.Content.ReadAsStringAsync();
            Assert.Contains($"from {min} to {max} TWD for {method}", problem);
        }
        Assert.Equal(0, await api.Database.ScalarAsync<long>("SELECT COUNT(*) FROM transactions"));
        Assert.Equal(HttpStatusCode.Created, (await DepositAsync(user, new { amount = max, paymentMethod = method })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await DepositAsync(user, new { amount = min, paymentMethod = method })).StatusCode);
    }

    [Fact]
    public void DepositOptionsUseEcpaysPerMethodLimits()
    {
        var options = new DepositOptions();
        Assert.Equal((33L, 6_000L), options.AmountRange("CVS"));
        Assert.Equal((11L, 49_999L), options.AmountRange("ATM"));
        Assert.Equal((17L, 20_000L), options.AmountRange("BARCODE"));
        Assert.Equal((5L, 199_999L), options.AmountRange("Credit"));
        Assert.Empty(options.Problems());

        // A configured range a method can never meet is a start-up problem naming the method and its limits.
        var tooHigh = new DepositOptions { MinAmount = 10_000, MaxAmount = 100_000, PaymentMethods = ["Credit", "CVS"] };
        Assert.Equal((10_000L, 6_000L), tooHigh.AmountRange("CVS"));
        var problem = Assert.Single(tooHigh.Problems());
        Assert.Contains("CVS takes 33–6000 TWD", problem);

        // Without configured PaymentMethods, methods the range rules out are just not offered.
        var small = new DepositOptions { MaxAmount = 2_000 };
        Assert.Empty(small.Problems());
        Assert.DoesNotContain("BNPL", small.AllowedMethods);
        Assert.Contains("Credit", small.AllowedMethods);
        Assert.Contains("CVS", small.AllowedMethods);

        // ...but a range no method takes at all is a start-up problem.
        var none = new DepositOptions { MinAmount = 200_000, MaxAmount = 300_000 };
        Assert.Empty(none.AllowedMethods);
        Assert.Contains(none.Problems(), p => p.Contains("no payment method takes amounts from 200000 to 300000", StringComparison.Ordinal));
    }

    [Fact]
    public void TheItemNameRuleNamesTheLimitThatWasHit()
    {
        Assert.Null(DepositItemName.Problem(new string('綠', 133)));
        Assert.Null(DepositItemName.Problem(new string('a', 200)));
        Assert.Contains("400 UTF-8 bytes (about 133 CJK characters", DepositItemName.Problem(new string('綠', 134)));
        Assert.StartsWith("is 402 UTF-8 bytes", DepositItemName.Problem(new string('綠', 134)));
        Assert.StartsWith("is 201 characters", DepositItemName.Problem(new string('a', 201)));
        Assert.Equal("must not be blank.", DepositItemName.Problem("   "));
        Assert.Contains("control characters", DepositItemName.Problem("a\nb"));
        Assert.Contains("emoji", DepositItemName.Problem("a😀"));
        Assert.StartsWith("contains '&' at position 1; '&' and '=' separate the signed fields", DepositItemName.Problem("a&RtnCode=1"));
        Assert.StartsWith("contains '=' at position 7;", DepositItemName.Problem("RtnCode=1"));
        Assert.Null(DepositItemName.Problem("點數 100#bonus ＆ ＝"));
    }

    // The item name is signed with the merchant key inside the checkout form: a separator in it could make the
    // server sign a string that reads as an ECPay post. Refused at the input; nothing is written.
    [Theory]
    [InlineData("points&MerchantTradeNo=EE1&RtnCode=1&zz=")]
    [InlineData("a=b")]
    [InlineData("&")]
    public async Task AnItemNameWithASeparatorIsA400NamingItemNameAndWritesNothing(string itemName)
    {
        var user = await api.CreateUserAsync();
        await AssertProblem.ValidationAsync(await DepositAsync(user, new { amount = 100, paymentMethod = "Credit", itemName }), "itemName");
        Assert.Equal(0, await api.Database.ScalarAsync<long>("SELECT COUNT(*) FROM transactions WHERE user_id = @u", ("@u", user)));
    }

    [Fact]
    public async Task ADepositStoredWithASeparatorInItsItemNameIsSignedWithTheDefaultName()
    {
        // A row written before the rule: its name is not signed; the default description is.
        var user = await api.CreateUserAsync();
        var created = await (await DepositAsync(user, new { amount = 250, paymentMethod = "Credit", itemName = "points" })).Content.ReadFromJsonAsync<JsonElement>();
        var id = created.GetProperty("transactionId").GetInt64();
        await api.Database.ExecuteAsync("UPDATE transactions SET item_name = 'a&RtnCode=1&b=' WHERE id = @id", ("@id", id));
        var form = await api.Client.GetFromJsonAsync<JsonElement>(api.CheckoutPath(id));
        var itemName = form.GetProperty("fields").EnumerateArray().Single(f => f.GetProperty("name").GetString() == "ItemName").GetProperty("value").GetString();
        Assert.Equal("Deposit 250 TWD", itemName);
    }

    [Theory]
    [InlineData(133, true)]
    [InlineData(134, false)]
    public async Task AnItemNameOfMoreThan400Utf8BytesIsA400EvenUnder200Characters(int cjkCharacters, bool accepted)
    {
        var user = await api.CreateUserAsync();
        var itemName = new string('綠', cjkCharacters);
        Assert.Equal(accepted, DepositItemName.Problem(itemName) is null);
        var response = await DepositAsync(user, new { amount = 100, paymentMethod = "Credit", itemName });
        if (accepted)
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        else
            await AssertProblem.ValidationAsync(response, "itemName");
    }

    [Fact]
    public async Task DepositsForUnknownOrMalformedUsersAre404And400()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await DepositAsync(424242, new { amount = 100, paymentMethod = "Credit" })).StatusCode);
        await AssertProblem.ValidationAsync(await api.Client.PostAsJsonAsync("/users/x1/deposits", new { amount = 100, paymentMethod = "Credit" }), "id");
        Assert.Equal(0, await api.Database.ScalarAsync<long>("SELECT COUNT(*) FROM transactions"));
        Assert.Empty(scheduler.Scheduled);
    }

    [Fact]
    public async Task PaymentMethodIsCaseInsensitiveAndStoredInEcpaySpelling()
    {
        var user = await api.CreateUserAsync();
        var body = await (await DepositAsync(user, new { amount = 100, paymentMethod = "webatm" })).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("WebATM", body.GetProperty("paymentMethod").GetString());
    }

    [Theory]
    [InlineData("Credit", "Credit", null, null, 2.0)]
    [InlineData("ALL", "ALL", "1", null, 2.0)]
    [InlineData("ATM", "ATM", "1", null, 5.0)]
    [InlineData("CVS", "CVS", null, "4", 4.0)]
    [InlineData("BARCODE", "BARCODE", null, "1", 3.0)]
    [InlineData("WebATM", "WebATM", null, null, 2.0)]
    public async Task CheckoutFormForEachMethodIsSignedAndCarriesTheRightFields(string method, string choose, string? expireDate, string? storeExpireDate, double minutes)
    {
        var user = await api.CreateUserAsync();
        var created = await (await DepositAsync(user, new { amount = 1234, paymentMethod = method, itemName = "點數 100#bonus" })).Content.ReadFromJsonAsync<JsonElement>();
        var id = created.GetProperty("transactionId").GetInt64();
        var form = await api.Client.GetFromJsonAsync<JsonElement>(api.CheckoutPath(id));
        Assert.Equal($"{PaymentsApiHost.SandboxBaseUrl}/Cashier/AioCheckOut/V5", form.GetProperty("action").GetString());
        var fields = form.GetProperty("fields").EnumerateArray().Select(f => new KeyValuePair<string, string>(f.GetProperty("name").GetString()!, f.GetProperty("value").GetString()!)).ToList();
        var byKey = fields.ToDictionary(f => f.Key, f => f.Value);

        Assert.True(CheckMacValue.Verify(fields, EcpayCredentials.Stage.HashKey, EcpayCredentials.Stage.HashIv));
        Assert.Equal(EcpayCredentials.Stage.MerchantId, byKey["MerchantID"]);
        Assert.Equal(created.GetProperty("merchantTradeNo").GetString(), byKey["MerchantTradeNo"]);
        Assert.Equal("1234", byKey["TotalAmount"]);
        Assert.Equal(choose, byKey["ChoosePayment"]);
        Assert.Equal("點數 100#bonus", byKey["ItemName"]);
        Assert.Equal(PaymentsApiHost.ReturnUrl, byKey["ReturnURL"]);
        Assert.Equal("http://127.0.0.1:5080/ecpay/order-result", byKey["OrderResultURL"]);
        Assert.Equal("http://127.0.0.1:5080/", byKey["ClientBackURL"]);
        Assert.Equal(id.ToString(), byKey["CustomField1"]);
        Assert.Equal(expireDate, byKey.GetValueOrDefault("ExpireDate"));
        Assert.Equal(storeExpireDate, byKey.GetValueOrDefault("StoreExpireDate"));
        Assert.Equal(method is "ATM" or "CVS" or "BARCODE" or "ALL" ? PaymentsApiHost.PaymentInfoUrl : null, byKey.GetValueOrDefault("PaymentInfoURL"));

        // MerchantTradeDate is the transaction's creation time in Taiwan (UTC+8); the expiry follows the method.
        var createdAt = new DateTimeOffset(DateTime.SpecifyKind(await api.Database.ScalarAsync<DateTime>("SELECT created_at FROM transactions WHERE id = @id", ("@id", id)), DateTimeKind.Utc));
        Assert.Equal(TaiwanTime.Format(createdAt), byKey["MerchantTradeDate"]);
        Assert.Equal(createdAt.AddMinutes(minutes), created.GetProperty("expiresAt").GetDateTimeOffset());

        // The browser gets a self-submitting HTML form with the same fields (served once: forget the JSON visit).
        await api.Database.ExecuteAsync("UPDATE transactions SET checkout_started_at = NULL WHERE id = @id", ("@id", id));
        var html = await api.Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, api.CheckoutPath(id)) { Headers = { { "Accept", "text/html" } } });
        Assert.Equal("text/html", html.Content.Headers.ContentType!.MediaType);
        Assert.Equal("no-store", html.Headers.CacheControl!.ToString());
        var page = await html.Content.ReadAsStringAsync();
        Assert.Contains($"action=\"{PaymentsApiHost.SandboxBaseUrl}/Cashier/AioCheckOut/V5\"", page);
        Assert.Contains($"value=\"{byKey["CheckMacValue"]}\"", page);
        Assert.Contains(".submit()", page);
    }

    [Fact]
    public async Task CheckoutIsOnlyForPendingUnexpiredDeposits()
    {
        var user = await api.CreateUserAsync();
        async Task<long> NewDeposit() => (await (await DepositAsync(user, new { amount = 100, paymentMethod = "Credit" })).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("transactionId").GetInt64();

        var completed = await NewDeposit();
        await api.Database.ExecuteAsync("UPDATE transactions SET status = 'failed' WHERE id = @id", ("@id", completed));
        Assert.Equal(HttpStatusCode.Conflict, (await api.Client.GetAsync(api.CheckoutPath(completed))).StatusCode);

        var lapsed = await NewDeposit();
        await api.Database.ExecuteAsync("UPDATE transactions SET expires_at = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND WHERE id = @id", ("@id", lapsed));
        Assert.Equal(HttpStatusCode.Gone, (await api.Client.GetAsync(api.CheckoutPath(lapsed))).StatusCode);

        var expired = await NewDeposit();
        await api.Database.ExecuteAsync("UPDATE transactions SET status = 'expired' WHERE id = @id", ("@id", expired));
        Assert.Equal(HttpStatusCode.Conflict, (await api.Client.GetAsync(api.CheckoutPath(expired))).StatusCode);

        Assert.Equal(HttpStatusCode.NotFound, (await api.Client.GetAsync(api.CheckoutPath(777777))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.Client.GetAsync("/checkout/abc")).StatusCode);
        var htmlGone = await api.Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, api.CheckoutPath(lapsed)) { Headers = { { "Accept", "text/html" } } });
        Assert.Equal(HttpStatusCode.Gone, htmlGone.StatusCode);
        Assert.Equal("text/html", htmlGone.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task AWithdrawalIsNotACheckout()
    {
        var user = await api.CreateUserAsync();
        await api.CreditAsync(user, 100);
        var w = await (await api.Client.PostAsJsonAsync($"/users/{user}/withdrawals", new { amount = 10 })).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.NotFound, (await api.Client.GetAsync(api.CheckoutPath(w.GetProperty("transactionId").GetInt64()))).StatusCode);
    }

    private sealed class RecordingScheduler : IPaymentTimeoutScheduler
    {
        public ConcurrentQueue<PaymentTimeoutInput> Scheduled { get; } = new();

        public Task ScheduleAsync(PaymentTimeoutInput timeout, CancellationToken ct)
        {
            Scheduled.Enqueue(timeout);
            return Task.CompletedTask;
        }
    }

    [Theory]
    [InlineData("ATM", "INTERVAL 10 DAY", "ExpireDate", "10")]
    [InlineData("CVS", "INTERVAL 90 MINUTE", "StoreExpireDate", "90")]
    [InlineData("BARCODE", "INTERVAL 6 DAY", "StoreExpireDate", "6")]
    public async Task CheckoutTakesEcpaysExpiryFromTheStoredExpiresAtNotFromTodaysSettings(string method, string interval, string field, string expected)
    {
        // The deposit was created under other settings (simulated by moving its stored expires_at):
        // ECPay's deadline must follow the one the payment's timeout waits for.
        var user = await api.CreateUserAsync();
        var id = (await (await DepositAsync(user, new { amount = 100, paymentMethod = method })).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("transactionId").GetInt64();
        await api.Database.ExecuteAsync($"UPDATE transactions SET expires_at = created_at + {interval} WHERE id = @id", ("@id", id));
        var form = await api.Client.GetFromJsonAsync<JsonElement>(api.CheckoutPath(id));
        var byKey = form.GetProperty("fields").EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!, f => f.GetProperty("value").GetString()!);
        // ATM/BARCODE count Taiwan days (created_at + N days is N Taiwan dates later); CVS minutes.
        Assert.Equal(expected, byKey[field]);
    }

    [Fact]
    public void EcpaysExpiryIsRoundedUpFromTheStoredDeadline()
    {
        var created = new DateTimeOffset(2026, 1, 10, 15, 0, 0, TimeSpan.Zero); // 23:00 in Taiwan
        var o = new DepositExpiryOptions();
        // ATM: ends 3 Taiwan days later at 23:59:59 → 3; a deadline 2 h later (past Taiwan midnight) → 1 day.
        Assert.Equal((3, (int?)null), StartCheckout.EcpayExpiry("ATM", created, new DateTimeOffset(2026, 1, 13, 23, 59, 59, TimeSpan.FromHours(8)), o));
        Assert.Equal((1, (int?)null), StartCheckout.EcpayExpiry("ATM", created, created.AddHours(2), o));
        Assert.Equal((1, (int?)null), StartCheckout.EcpayExpiry("ATM", created, created.AddMinutes(5), o));
        // CVS: minutes, rounded up; sub-millisecond storage rounding does not add a minute.
        Assert.Equal(((int?)null, 91), StartCheckout.EcpayExpiry("CVS", created, created.AddMinutes(90).AddSeconds(1), o));
        Assert.Equal(((int?)null, 90), StartCheckout.EcpayExpiry("CVS", created, created.AddMinutes(90).AddTicks(5), o));
        Assert.Equal(((int?)null, 7), StartCheckout.EcpayExpiry("BARCODE", created, new DateTimeOffset(2026, 1, 17, 23, 59, 59, TimeSpan.FromHours(8)), o));
        // Online methods send nothing; ALL sends the ATM days from the settings.
        Assert.Equal(((int?)null, (int?)null), StartCheckout.EcpayExpiry("Credit", created, created.AddMinutes(30), o));
        Assert.Equal((3, (int?)null), StartCheckout.EcpayExpiry("ALL", created, created.AddMinutes(30), o));
    }

    [Fact]
    public async Task TheCheckoutPageIsServedOnceThenSaysItWasAlreadySentToEcpay()
    {
        var user = await api.CreateUserAsync();
        var id = (await (await DepositAsync(user, new { amount = 300, paymentMethod = "Credit" })).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("transactionId").GetInt64();
        HttpRequestMessage Html() => new(HttpMethod.Get, api.CheckoutPath(id)) { Headers = { { "Accept", "text/html" } } };
        // The polled transaction says whether its checkout link still leads to ECPay (the web page offers it then).
        Assert.Equal(JsonValueKind.Null, (await api.Client.GetFromJsonAsync<JsonElement>($"/transactions/{id}")).GetProperty("checkoutStartedAt").ValueKind);

        var first = await api.Client.SendAsync(Html());
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Contains(".submit()", await first.Content.ReadAsStringAsync());
        var startedAt = await api.Database.ScalarAsync<DateTime>("SELECT checkout_started_at FROM transactions WHERE id = @id", ("@id", id));
        Assert.Equal(new DateTimeOffset(DateTime.SpecifyKind(startedAt, DateTimeKind.Utc)),
            (await api.Client.GetFromJsonAsync<JsonElement>($"/transactions/{id}")).GetProperty("checkoutStartedAt").GetDateTimeOffset());

        var second = await api.Client.SendAsync(Html());
        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Equal("text/html", second.Content.Headers.ContentType!.MediaType);
        Assert.Equal("no-store", second.Headers.CacheControl!.ToString());
        var page = await second.Content.ReadAsStringAsync();
        Assert.Contains("This payment was already sent to ECPay", page);
        Assert.Contains(TaiwanTime.Format(new DateTimeOffset(DateTime.SpecifyKind(startedAt, DateTimeKind.Utc))), page);
        Assert.Contains("start a new deposit", page);
        Assert.Contains("data-testid=\"status\" class=\"status pending\">pending<", page);
        Assert.DoesNotContain(".submit()", page);

        var json = await api.Client.GetAsync(api.CheckoutPath(id));
        Assert.Equal(HttpStatusCode.Conflict, json.StatusCode);
        var problem = await json.Content.ReadFromJsonAsync<JsonElement>();
        // RFC 9457's "status" stays the HTTP status; the deposit's own is "transactionStatus".
        Assert.Equal(409, problem.GetProperty("status").GetInt32());
        Assert.Equal("pending", problem.GetProperty("transactionStatus").GetString());
        Assert.True(problem.TryGetProperty("checkoutStartedAt", out _));

        // Once paid, the page says so.
        await api.Database.ExecuteAsync("""
            UPDATE transactions SET status = 'completed' WHERE id = @id;
            INSERT INTO ledger_entries (user_id, transaction_id, amount) SELECT user_id, id, amount FROM transactions WHERE id = @id;
            UPDATE users u JOIN transactions t ON t.user_id = u.id AND t.id = @id SET u.balance = u.balance + t.amount;
            """, ("@id", id));
        var paid = await (await api.Client.SendAsync(Html())).Content.ReadAsStringAsync();
        Assert.Contains("class=\"status completed\">completed<", paid);
        Assert.Contains("has been paid", paid);
    }

    [Fact]
    public async Task FieldsFetchedByAScriptCountAsSentToEcpayToo()
    {
        var user = await api.CreateUserAsync();
        var id = (await (await DepositAsync(user, new { amount = 300, paymentMethod = "Credit" })).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("transactionId").GetInt64();

        Assert.Equal(HttpStatusCode.OK, (await api.Client.GetAsync(api.CheckoutPath(id))).StatusCode);
        var page = await api.Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, api.CheckoutPath(id)) { Headers = { { "Accept", "text/html" } } });
        Assert.Equal(HttpStatusCode.Conflict, page.StatusCode);
        Assert.Contains("This payment was already sent to ECPay", await page.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Conflict, (await api.Client.GetAsync(api.CheckoutPath(id))).StatusCode);
    }

    [Fact]
    public async Task OfConcurrentVisitsToOneCheckoutLinkExactlyOneGetsTheForm()
    {
        var user = await api.CreateUserAsync();
        var id = (await (await DepositAsync(user, new { amount = 300, paymentMethod = "Credit" })).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("transactionId").GetInt64();
        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
            api.Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, api.CheckoutPath(id)) { Headers = { { "Accept", "text/html" } } })));
        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.OK);
        Assert.All(responses.Where(r => r.StatusCode != HttpStatusCode.OK), r => Assert.Equal(HttpStatusCode.Conflict, r.StatusCode));
    }
}

public sealed class SchedulerFailureTests
{
    [Fact]
    public async Task WhenTheTimeoutCannotBeScheduledTheDepositIsRolledBackAnd503()
    {
        await using var api = await PaymentsApiHost.StartAsync("schedfail", s => s.Replace(ServiceDescriptor.Singleton<IPaymentTimeoutScheduler>(new FailingScheduler())));
        var user = await api.CreateUserAsync();
        var response = await api.Client.PostAsJsonAsync($"/users/{user}/deposits", new { amount = 100, paymentMethod = "Credit" });
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.DoesNotContain("Step Functions is down", await response.Content.ReadAsStringAsync());
        // No pending payment without a timer: nothing was written at all.
        Assert.Equal(0, await api.Database.ScalarAsync<long>("SELECT COUNT(*) FROM transactions"));
        await api.Database.AssertLedgerInvariantAsync();
    }

    private sealed class FailingScheduler : IPaymentTimeoutScheduler
    {
        public Task ScheduleAsync(PaymentTimeoutInput timeout, CancellationToken ct) => throw new HttpRequestException("Step Functions is down");
    }
}

public sealed class DepositRuleTests
{
    private static readonly DateTimeOffset Created = new(2026, 1, 10, 15, 0, 0, TimeSpan.Zero); // 23:00 in Taiwan

    [Fact]
    public void WholeDayAtmExpiryEndsAtTheEndOfTheTaiwanDayLikeEcpays()
    {
        var e = DepositExpiry.For("ATM", Created, new DepositExpiryOptions { Atm = TimeSpan.FromDays(3) });
        Assert.Equal(3, e.ExpireDate);
        Assert.Equal(new DateTimeOffset(2026, 1, 13, 23, 59, 59, TimeSpan.FromHours(8)), e.ExpiresAt);
    }

    [Fact]
    public void ShortLocalExpiriesAreExactAndSendEcpayTheSmallestValue()
    {
        var o = new DepositExpiryOptions { Atm = TimeSpan.FromMinutes(5), Cvs = TimeSpan.FromSeconds(90), Barcode = TimeSpan.FromMinutes(3) };
        Assert.Equal(new DepositExpiry(Created.AddMinutes(5), 1, null), DepositExpiry.For("ATM", Created, o));
        Assert.Equal(new DepositExpiry(Created.AddSeconds(90), null, 2), DepositExpiry.For("CVS", Created, o));
        Assert.Equal(new DepositExpiry(Created.AddMinutes(3), null, 1), DepositExpiry.For("BARCODE", Created, o));
    }

    [Fact]
    public void OnlineMethodsUseTheOnlineExpiryAndAllAlsoSendsTheAtmDays()
    {
        var o = new DepositExpiryOptions();
        Assert.Equal(new DepositExpiry(Created.AddMinutes(30), null, null), DepositExpiry.For("Credit", Created, o));
        Assert.Equal(new DepositExpiry(Created.AddMinutes(30), 3, null), DepositExpiry.For("ALL", Created, o));
        Assert.Equal(new DepositExpiry(Created.AddDays(7), null, 10_080), DepositExpiry.For("CVS", Created, o));
    }

    [Fact]
    public void MerchantTradeNumbersAreTwentyAlphanumericsSortableByTime()
    {
        var a = MerchantTradeNumber.New("EE", Created);
        var b = MerchantTradeNumber.New("EE", Created.AddMilliseconds(1));
        Assert.Matches("^EE[0-9A-Z]{18}$", a);
        Assert.True(string.CompareOrdinal(a[..11], b[..11]) < 0);
        Assert.True(MerchantTradeNumber.IsWellFormed(a));
        Assert.Equal(1000, Enumerable.Range(0, 1000).Select(_ => MerchantTradeNumber.New("EE", Created)).Distinct().Count());
    }
}
