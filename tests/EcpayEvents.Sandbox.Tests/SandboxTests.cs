using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using EcpayEvents.Ecpay;
using EcpayEvents.Testing;

namespace EcpayEvents.Sandbox.Tests;

public sealed class CheckoutValidationTests : IAsyncLifetime
{
    private SandboxHost host = null!;

    public async ValueTask InitializeAsync() => host = await SandboxHost.StartAsync();

    public ValueTask DisposeAsync() => host.DisposeAsync();

    [Theory]
    [InlineData("Credit", "pay-card")]
    [InlineData("ATM", "get-atm")]
    [InlineData("CVS", "get-cvs")]
    [InlineData("BARCODE", "get-barcode")]
    [InlineData("ALL", "get-cvs")]
    [InlineData("WebATM", "pay-card")]
    public async Task OurCheckoutFormIsAcceptedForEveryMethod(string method, string button)
    {
        var response = await host.PostCheckoutAsync(host.Form(method).Fields);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Equal("", SandboxHost.ErrorCode(html));
        Assert.Contains($"data-testid=\"{button}\"", html);
    }

    [Fact]
    public async Task ATamperedMacIsRejectedWithEcpaysCode()
    {
        var fields = host.Form().Fields.Select(f => f.Key == "TotalAmount" ? new KeyValuePair<string, string>("TotalAmount", "5000") : f).ToList();
        var html = await (await host.PostCheckoutAsync(fields)).Content.ReadAsStringAsync();
        Assert.Equal("10200073", SandboxHost.ErrorCode(html));
        Assert.Contains("CheckMacValue Error.", html);
    }

    [Fact]
    public async Task AReusedMerchantTradeNoIsRejectedForever()
    {
        var form = host.Form();
        Assert.Equal("", SandboxHost.ErrorCode(await (await host.PostCheckoutAsync(form.Fields)).Content.ReadAsStringAsync()));
        Assert.Equal("10200045", SandboxHost.ErrorCode(await (await host.PostCheckoutAsync(form.Fields)).Content.ReadAsStringAsync()));
        // Another amount, same number: still rejected.
        var again = host.Form(amount: 900, tradeNo: form.MerchantTradeNo);
        Assert.Equal("10200045", SandboxHost.ErrorCode(await (await host.PostCheckoutAsync(again.Fields)).Content.ReadAsStringAsync()));
    }

    [Theory]
    [InlineData("MerchantTradeDate", "2026-01-01 10:00:00", "10200046")]
    [InlineData("MerchantTradeDate", "2026/13/01 10:00:00", "10200046")]
    [InlineData("TotalAmount", "0", "10200048")]
    [InlineData("TotalAmount", "100.5", "10200048")]
    [InlineData("TotalAmount", "-5", "10200048")]
    [InlineData("TotalAmount", "4", "10200048")]
    [InlineData("TotalAmount", "200000", "10200048")]
    [InlineData("MerchantTradeNo", "HAS-DASH", "10200044")]
    [InlineData("MerchantTradeNo", "ABCDEFGHIJKLMNOPQRSTU", "10200044")]
    [InlineData("ChoosePayment", "Bitcoin", "10300023")]
    [InlineData("PaymentType", "xyz", "10200049")]
    [InlineData("EncryptType", "0", "10200049")]
    [InlineData("ReturnURL", "not a url", "10200050")]
    [InlineData("TradeDesc", "", "10200041")]
    public async Task BadFieldsAreRejectedEvenWhenSigned(string field, string value, string code)
    {
        var fields = SandboxHost.Resign(host.Form().Fields, field, value);
        var response = await host.PostCheckoutAsync(fields);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode); // ECPay answers errors with a 200 page
        Assert.Equal(code, SandboxHost.ErrorCode(await response.Content.ReadAsStringAsync()));
    }

    // Each method's documented TotalAmount range (CheckoutForm.AmountLimitsByMethod): the edges pass, one beyond is 10200048.
    [Theory]
    [InlineData("Credit", 5, 199_999)]
    [InlineData("ATM", 11, 49_999)]
    [InlineData("WebATM", 11, 49_999)]
    [InlineData("CVS", 33, 6_000)]
    [InlineData("BARCODE", 17, 20_000)]
    [InlineData("ALL", 1, 199_999)]
    public async Task EachMethodsAmountLimitsAreEnforced(string method, long min, long max)
    {
        async Task<string> Post(long amount)
        {
            var fields = SandboxHost.Resign(host.Form(method).Fields, "TotalAmount", amount.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return await (await host.PostCheckoutAsync(fields)).Content.ReadAsStringAsync();
        }
        Assert.Equal("", SandboxHost.ErrorCode(await Post(min)));
        Assert.Equal("", SandboxHost.ErrorCode(await Post(max)));
        var over = await Post(max + 1);
        Assert.Equal("10200048", SandboxHost.ErrorCode(over));
        Assert.Contains(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{method} accepts {min:N0}–{max:N0} TWD"), WebUtility.HtmlDecode(over));
        if (min > 1)
            Assert.Equal("10200048", SandboxHost.ErrorCode(await Post(min - 1)));
    }

    [Fact]
    public async Task AnUnknownMerchantIsRejected()
    {
        var fields = host.Form().Fields.Select(f => f.Key == "MerchantID" ? new KeyValuePair<string, string>("MerchantID", "2000132") : f).ToList();
        Assert.Equal("10200042", SandboxHost.ErrorCode(await (await host.PostCheckoutAsync(fields)).Content.ReadAsStringAsync()));
    }

    [Fact]
    public async Task ScriptsCanAskForJson()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/Cashier/AioCheckOut/V5")
        {
            Content = new StringContent(EcpayForm.ToFormBody(host.Form().Fields), Encoding.UTF8, "application/x-www-form-urlencoded"),
        };
        request.Headers.Accept.ParseAdd("application/json");
        var answer = await (await host.Client.SendAsync(request)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(answer.GetProperty("ok").GetBoolean());
        Assert.Matches("^[0-9]{16}$", answer.GetProperty("tradeNo").GetString()!);
    }
}

public sealed class NotificationTests : IAsyncLifetime
{
    private SandboxHost host = null!;

    public async ValueTask InitializeAsync() => host = await SandboxHost.StartAsync();

    public ValueTask DisposeAsync() => host.DisposeAsync();

    private async Task<string> CheckoutAsync(string method = "Credit", long amount = 500)
    {
        var form = host.Form(method, amount);
        Assert.Equal("", SandboxHost.ErrorCode(await (await host.PostCheckoutAsync(form.Fields)).Content.ReadAsStringAsync()));
        return form.MerchantTradeNo;
    }

    private Task<HttpResponseMessage> PayAsync(string tradeNo, string method, bool twice = false) =>
        host.Client.PostAsJsonAsync($"/sandbox/orders/{tradeNo}/pay", new { method, twice });

    [Fact]
    public async Task ACardPaymentIsPostedSignedToReturnUrlWithEveryDocumentedField()
    {
        var tradeNo = await CheckoutAsync(amount: 777);
        (await PayAsync(tradeNo, "card")).EnsureSuccessStatusCode();
        var (path, form) = Assert.Single(await host.WaitForPostsAsync(1));
        Assert.Equal("/return", path);
        Assert.True(CheckMacValue.Verify(form, EcpayCredentials.Stage.HashKey, EcpayCredentials.Stage.HashIv));
        var result = PaymentResult.Parse(EcpayPostKind.ReturnUrl, form);
        Assert.Equal(tradeNo, result.MerchantTradeNo);
        Assert.Equal("1", result.Code);
        Assert.Equal("交易成功", result.Message);
        Assert.Equal(777, result.TradeAmt);
        Assert.False(result.SimulatePaid);
        Assert.Equal("0", form["SimulatePaid"]);
        Assert.Equal("Credit_CreditCard", result.PaymentType);
        Assert.Equal("42", result.CustomField1);
        foreach (var key in new[] { "StoreID", "PaymentDate", "PaymentTypeChargeFee", "TradeDate", "CustomField2", "CustomField3", "CustomField4" })
            Assert.True(form.Contains(key), key);
        // A second payment of the same order is refused.
        Assert.Equal(HttpStatusCode.Conflict, (await PayAsync(tradeNo, "card")).StatusCode);
    }

    [Fact]
    public async Task ADeclinedCardIsPostedSignedToReturnUrlAsAFailureAndTheOrderCannotBePaidAfterwards()
    {
        var tradeNo = await CheckoutAsync(amount: 640);
        (await PayAsync(tradeNo, "fail")).EnsureSuccessStatusCode();
        var (path, form) = Assert.Single(await host.WaitForPostsAsync(1));
        Assert.Equal("/return", path);
        Assert.True(CheckMacValue.Verify(form, EcpayCredentials.Stage.HashKey, EcpayCredentials.Stage.HashIv));
        var result = PaymentResult.Parse(EcpayPostKind.ReturnUrl, form);
        Assert.Equal(tradeNo, result.MerchantTradeNo);
        Assert.Equal("10100058", result.Code);
        Assert.Equal("付款失敗", result.Message);
        Assert.Equal(640, result.TradeAmt);
        Assert.False(result.SimulatePaid);
        var order = await host.Client.GetFromJsonAsync<JsonElement>($"/sandbox/orders/{tradeNo}");
        Assert.Equal("failed", order.GetProperty("state").GetString());
        // ECPay answers the order as not paid, and a declined order cannot be paid afterwards.
        Assert.Equal(HttpStatusCode.Conflict, (await PayAsync(tradeNo, "card")).StatusCode);

        // The browser goes back to OrderResultURL with the same (signed) failure.
        var declined = await CheckoutAsync();
        var response = await host.Client.PostAsync($"/sandbox/checkout/{declined}", new FormUrlEncodedContent([new("action", "fail")]));
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains($"action=\"{host.MerchantUrl}/order-result\"", html);
        Assert.Contains("value=\"10100058\"", html);
    }

    [Fact]
    public async Task ANotificationIsResentUntilExactly1OkAndResendsSayPaid()
    {
        host.Answers.Enqueue("OK");
        host.Answers.Enqueue("1|OK\n");
        var tradeNo = await CheckoutAsync();
        (await PayAsync(tradeNo, "card")).EnsureSuccessStatusCode();
        var posts = await host.WaitForPostsAsync(3);
        Assert.Equal(["交易成功", "paid", "paid"], posts.Select(p => p.Form["RtnMsg"]));
        Assert.All(posts, p => Assert.True(CheckMacValue.Verify(p.Form, EcpayCredentials.Stage.HashKey, EcpayCredentials.Stage.HashIv)));
        var order = await host.Client.GetFromJsonAsync<JsonElement>($"/sandbox/orders/{tradeNo}");
        var delivery = Assert.Single(order.GetProperty("deliveries").EnumerateArray());
        Assert.True(delivery.GetProperty("acknowledged").GetBoolean());
        Assert.Equal(3, delivery.GetProperty("attempts").GetArrayLength());
    }

    [Fact]
    public async Task ResendsStopAfterTheConfiguredAttempts()
    {
        for (var i = 0; i < 10; i++) host.Answers.Enqueue("0|nope");
        var tradeNo = await CheckoutAsync();
        (await PayAsync(tradeNo, "card")).EnsureSuccessStatusCode();
        await host.WaitForPostsAsync(4);
        // The re-send loop records that it gave up as the last thing it does: after that, nothing more is sent.
        var order = await host.WaitForOrderAsync(tradeNo, o => o.GetProperty("deliveries")[0].GetProperty("gaveUp").GetBoolean(), "the re-sends to give up");
        Assert.Equal(4, order.GetProperty("deliveries")[0].GetProperty("attempts").GetArrayLength());
        Assert.Equal(4, host.Received.Count);
    }

    [Fact]
    public async Task SendTwiceDeliversAnAcknowledgedNotificationAgain()
    {
        var tradeNo = await CheckoutAsync();
        (await PayAsync(tradeNo, "card", twice: true)).EnsureSuccessStatusCode();
        var posts = await host.WaitForPostsAsync(2);
        Assert.All(posts, p => Assert.Equal(tradeNo, p.Form["MerchantTradeNo"]));
        Assert.Equal(posts[0].Form["TradeNo"], posts[1].Form["TradeNo"]);
    }

    [Fact]
    public async Task AtmIssuesANumberToPaymentInfoUrlThenThePaymentGoesToReturnUrl()
    {
        var tradeNo = await CheckoutAsync("ATM");
        (await PayAsync(tradeNo, "atm")).EnsureSuccessStatusCode();
        var (path, form) = Assert.Single(await host.WaitForPostsAsync(1));
        Assert.Equal("/payment-info", path);
        var info = PaymentInfo.Parse(form);
        Assert.True(CheckMacValue.Verify(form, EcpayCredentials.Stage.HashKey, EcpayCredentials.Stage.HashIv));
        Assert.Equal(PaymentInfo.AtmNumberIssued, info.RtnCode);
        Assert.Equal("812", info.BankCode);
        Assert.NotNull(info.ExpireDate);
        Assert.Equal(HttpStatusCode.Conflict, (await PayAsync(tradeNo, "card")).StatusCode); // ChoosePayment ATM

        (await PayAsync(tradeNo, "paid")).EnsureSuccessStatusCode();
        var paid = (await host.WaitForPostsAsync(2))[1];
        Assert.Equal("/return", paid.Path);
        Assert.Equal("ATM_TAISHIN", paid.Form["PaymentType"]);
        Assert.Equal("1", paid.Form["RtnCode"]);
    }

    [Fact]
    public async Task CvsIssuesAPaymentCode()
    {
        var tradeNo = await CheckoutAsync("CVS");
        (await PayAsync(tradeNo, "cvs")).EnsureSuccessStatusCode();
        var info = PaymentInfo.Parse(Assert.Single(await host.WaitForPostsAsync(1)).Form);
        Assert.Equal(PaymentInfo.CvsOrBarcodeNumberIssued, info.RtnCode);
        Assert.StartsWith("LLL", info.PaymentNo);
    }

    [Fact]
    public async Task TheBrowserIsSentToOrderResultUrlWithASignedSelfSubmittingForm()
    {
        var tradeNo = await CheckoutAsync();
        var response = await host.Client.PostAsync($"/sandbox/checkout/{tradeNo}", new FormUrlEncodedContent([new("action", "card")]));
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains($"action=\"{host.MerchantUrl}/order-result\"", html);
        Assert.Contains(".submit()", html);
        Assert.Contains($"value=\"{tradeNo}\"", html);
    }

    [Fact]
    public async Task QueryTradeInfoAnswersSignedTradeStatus()
    {
        var tradeNo = await CheckoutAsync();
        async Task<EcpayForm> QueryAsync(string no, string? stamp = null, bool tamper = false)
        {
            var fields = new List<KeyValuePair<string, string>> { new("MerchantID", "3002607"), new("MerchantTradeNo", no), new("TimeStamp", stamp ?? SandboxHost.Stamp()) };
            fields = SignedEcpayPost.Sign(fields);
            if (tamper) fields[1] = new("MerchantTradeNo", no + "X");
            var text = await (await host.Client.PostAsync("/Cashier/QueryTradeInfo/V5", new FormUrlEncodedContent(fields))).Content.ReadAsStringAsync();
            var answer = EcpayForm.Parse(text);
            // A signed answer carries exactly the fields ECPay's does (Settlement's allowlist refuses others).
            if (answer.Contains("CheckMacValue")) Assert.Null(EcpayPostFields.Problem(EcpayPostKind.QueryTradeInfo, answer));
            return answer;
        }

        var before = await QueryAsync(tradeNo);
        Assert.True(CheckMacValue.Verify(before, EcpayCredentials.Stage.HashKey, EcpayCredentials.Stage.HashIv));
        Assert.Equal("0", before["TradeStatus"]);
        (await PayAsync(tradeNo, "card")).EnsureSuccessStatusCode();
        var after = await QueryAsync(tradeNo);
        Assert.True(CheckMacValue.Verify(after, EcpayCredentials.Stage.HashKey, EcpayCredentials.Stage.HashIv));
        Assert.Equal("1", after["TradeStatus"]);
        Assert.Equal("500", after["TradeAmt"]);
        Assert.Equal("10200047", (await QueryAsync("NOSUCHORDER")).GetValueOrDefault("TradeStatus"));
        var stale = await QueryAsync(tradeNo, (DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 600).ToString());
        Assert.False(stale.Contains("CheckMacValue"));
        Assert.NotEqual("1", stale["TradeStatus"]);
        var forged = await QueryAsync(tradeNo, tamper: true);
        Assert.Equal("10200073", forged["TradeStatus"]);
    }
}

public sealed class LateAndSimulatedPaymentTests : IAsyncLifetime
{
    private readonly SandboxHost.ManualTime time = new();
    private SandboxHost host = null!;

    public async ValueTask InitializeAsync() =>
        host = await SandboxHost.StartAsync(s => s.AddSingleton<TimeProvider>(time));

    public ValueTask DisposeAsync() => host.DisposeAsync();

    private async Task<string> CheckoutAsync(string method)
    {
        var form = host.Form(method, 500, created: time.Now);
        Assert.Equal("", SandboxHost.ErrorCode(await (await host.PostCheckoutAsync(form.Fields)).Content.ReadAsStringAsync()));
        return form.MerchantTradeNo;
    }

    private Task<HttpResponseMessage> PayAsync(string tradeNo, string method) =>
        host.Client.PostAsJsonAsync($"/sandbox/orders/{tradeNo}/pay", new { method, twice = false });

    [Theory]
    [InlineData("ATM", "atm")]
    [InlineData("CVS", "cvs")]
    [InlineData("BARCODE", "barcode")]
    public async Task AnIssuedNumberCannotBePaidAfterItsExpireDateUnlessPaidLateOnPurpose(string method, string issue)
    {
        var tradeNo = await CheckoutAsync(method);
        (await PayAsync(tradeNo, issue)).EnsureSuccessStatusCode();
        var info = PaymentInfo.Parse(Assert.Single(await host.WaitForPostsAsync(1)).Form);
        Assert.NotNull(info.ExpireDate);

        time.Now = info.ExpireDate!.Value.AddSeconds(1);
        var refused = await PayAsync(tradeNo, "paid");
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("expired", await refused.Content.ReadAsStringAsync());
        var page = await (await host.Client.PostAsync($"/sandbox/checkout/{tradeNo}", new FormUrlEncodedContent([new("action", "paid")]))).Content.ReadAsStringAsync();
        Assert.Contains("can no longer be paid", page);
        // A notification is recorded on the order as soon as the sandbox decides to send it (before any attempt): the
        // refused payments recorded none, and the number's own PaymentInfoURL post was acknowledged, so its re-send loop
        // has ended. Nothing else can be on its way to the merchant.
        var order = await host.WaitForOrderAsync(tradeNo, o => o.GetProperty("deliveries")[0].GetProperty("acknowledged").GetBoolean(), "the PaymentInfoURL post to be acknowledged");
        Assert.Equal("PaymentInfoURL", Assert.Single(order.GetProperty("deliveries").EnumerateArray()).GetProperty("kind").GetString());
        Assert.Single(host.Received);

        (await PayAsync(tradeNo, "paid-late")).EnsureSuccessStatusCode();
        var paid = (await host.WaitForPostsAsync(2))[1];
        Assert.Equal("/return", paid.Path);
        Assert.Equal("1", paid.Form["RtnCode"]);
    }

    [Fact]
    public async Task ANumberCanBePaidUpToItsExpireDate()
    {
        var tradeNo = await CheckoutAsync("ATM");
        (await PayAsync(tradeNo, "atm")).EnsureSuccessStatusCode();
        var info = PaymentInfo.Parse(Assert.Single(await host.WaitForPostsAsync(1)).Form);
        time.Now = info.ExpireDate!.Value.AddSeconds(-1);
        (await PayAsync(tradeNo, "paid")).EnsureSuccessStatusCode();
    }

    [Theory]
    [InlineData("Credit", null)]
    [InlineData("ATM", "atm")]
    public async Task ABackOfficeSimulatedPaymentPostsSimulatePaid1AndLeavesTheOrderUnpaid(string method, string? issue)
    {
        var tradeNo = await CheckoutAsync(method);
        var before = 0;
        if (issue is not null)
        {
            (await PayAsync(tradeNo, issue)).EnsureSuccessStatusCode();
            before = (await host.WaitForPostsAsync(1)).Count;
        }
        (await PayAsync(tradeNo, "simulate")).EnsureSuccessStatusCode();
        var (path, form) = (await host.WaitForPostsAsync(before + 1))[before];
        Assert.Equal("/return", path);
        Assert.True(CheckMacValue.Verify(form, EcpayCredentials.Stage.HashKey, EcpayCredentials.Stage.HashIv));
        var result = PaymentResult.Parse(EcpayPostKind.ReturnUrl, form);
        Assert.Equal("1", result.Code);
        Assert.True(result.SimulatePaid);
        Assert.False(result.IsRealPayment);

        var order = await host.Client.GetFromJsonAsync<JsonElement>($"/sandbox/orders/{tradeNo}");
        Assert.NotEqual("paid", order.GetProperty("state").GetString());
        var fields = new List<KeyValuePair<string, string>> { new("MerchantID", "3002607"), new("MerchantTradeNo", tradeNo), new("TimeStamp", time.Now.ToUnixTimeSeconds().ToString()) };
        fields = SignedEcpayPost.Sign(fields);
        var query = EcpayForm.Parse(await (await host.Client.PostAsync("/Cashier/QueryTradeInfo/V5", new FormUrlEncodedContent(fields))).Content.ReadAsStringAsync());
        Assert.Equal("0", query["TradeStatus"]);
    }

    [Fact]
    public async Task TheCheckoutPageOffersTheBackOfficeSimulation()
    {
        var form = host.Form("Credit", 500, created: time.Now);
        var html = await (await host.PostCheckoutAsync(form.Fields)).Content.ReadAsStringAsync();
        Assert.Contains("data-testid=\"simulate-paid\"", html);
        var after = await (await host.Client.PostAsync($"/sandbox/checkout/{form.MerchantTradeNo}", new FormUrlEncodedContent([new("action", "simulate")]))).Content.ReadAsStringAsync();
        Assert.Contains("SimulatePaid=1", after);
    }
}

public sealed class ResendScheduleTests
{
    [Fact]
    public void ResendsBackOffAndAreBounded()
    {
        var options = new SandboxOptions();
        var waits = Enumerable.Range(1, options.MaxAttempts - 1).Select(options.RetryDelay).ToList();
        Assert.Equal([5, 10, 20, 40, 80, 160, 300], waits.Select(w => w.TotalSeconds));
        Assert.InRange(waits.Aggregate(TimeSpan.Zero, (a, b) => a + b), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(15));

        var fixedInterval = new SandboxOptions { RetryInterval = TimeSpan.FromSeconds(1), RetryBackoff = 1 };
        Assert.All(Enumerable.Range(1, 5).Select(fixedInterval.RetryDelay), w => Assert.Equal(TimeSpan.FromSeconds(1), w));
    }
}

internal static class FormExtensions
{
    public static string? GetValueOrDefault(this EcpayForm form, string key) => form[key];
}
