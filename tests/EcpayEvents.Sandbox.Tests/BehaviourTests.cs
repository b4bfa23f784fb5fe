using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EcpayEvents.Ecpay;

namespace EcpayEvents.Sandbox.Tests;

/// <summary>ECPay's behaviours the sandbox plays when asked (README: the behaviour table), read back through the product's parsers.</summary>
public sealed class BehaviourTests : IAsyncLifetime
{
    private SandboxHost host = null!;

    public async ValueTask InitializeAsync() => host = await SandboxHost.StartAsync();

    public ValueTask DisposeAsync() => host.DisposeAsync();

    private Task<string> CheckoutAsync(string method = "Credit", long amount = 500) => host.CheckoutAsync(method, amount);

    private Task<HttpResponseMessage> PayAsync(string tradeNo, string method) => host.PayAsync(tradeNo, method);

    private async Task<(HttpStatusCode Status, string Body)> QueryAsync(string tradeNo)
    {
        var fields = new List<KeyValuePair<string, string>> { new("MerchantID", "3002607"), new("MerchantTradeNo", tradeNo), new("TimeStamp", SandboxHost.Stamp()) };
        fields.Add(new("CheckMacValue", CheckMacValue.Compute(fields, EcpayCredentials.Stage.HashKey, EcpayCredentials.Stage.HashIv)));
        using var response = await host.Client.PostAsync("/Cashier/QueryTradeInfo/V5", new FormUrlEncodedContent(fields));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static QueryTradeInfoResult Interpret(string body, string tradeNo) => QueryTradeInfoClient.Interpret(body, tradeNo, EcpayCredentials.Stage);

    [Fact]
    public async Task NotFoundIsSignedByDefaultAndUnsignedWhenAskedForEveryOrderOrOne()
    {
        Assert.IsType<QueryTradeInfoResult.Answered>(Interpret((await QueryAsync("NEVERSEEN1")).Body, "NEVERSEEN1"));

        (await host.Client.PostAsJsonAsync("/sandbox/orders/NEVERSEEN2/behaviour", new { unsignedNotFound = true })).EnsureSuccessStatusCode();
        var one = Assert.IsType<QueryTradeInfoResult.EcpayError>(Interpret((await QueryAsync("NEVERSEEN2")).Body, "NEVERSEEN2"));
        Assert.Equal("10200047", one.Code);
        Assert.IsType<QueryTradeInfoResult.Answered>(Interpret((await QueryAsync("NEVERSEEN3")).Body, "NEVERSEEN3"));

        (await host.Client.PostAsJsonAsync("/sandbox/behaviour", new { unsignedNotFound = true })).EnsureSuccessStatusCode();
        Assert.Equal("10200047", Assert.IsType<QueryTradeInfoResult.EcpayError>(Interpret((await QueryAsync("NEVERSEEN3")).Body, "NEVERSEEN3")).Code);
    }

    [Fact]
    public async Task ARawSignedAnswerIsSignedOverTheEncodedValuesAndStillVerifiesInTheProduct()
    {
        var tradeNo = await CheckoutAsync();
        (await PayAsync(tradeNo, "card")).EnsureSuccessStatusCode();
        (await host.Client.PostAsJsonAsync($"/sandbox/orders/{tradeNo}/behaviour", new { rawSignedAnswers = true })).EnsureSuccessStatusCode();
        var (_, body) = await QueryAsync(tradeNo);
        Assert.Contains("%2F", body); // the dates, encoded
        // Over the decoded values it does not verify: the MAC is over the encoded ones.
        Assert.False(CheckMacValue.Verify(EcpayForm.Parse(body), EcpayCredentials.Stage.HashKey, EcpayCredentials.Stage.HashIv));
        var answered = Assert.IsType<QueryTradeInfoResult.Answered>(Interpret(body, tradeNo));
        Assert.Equal(TradeStatus.Paid, answered.Trade.Status);
        Assert.NotNull(answered.Trade.PaymentDate);
    }

    [Fact]
    public async Task QueryingTooFastAnswers403ThenBlocksEveryCallUntilTheBlockEnds()
    {
        (await host.Client.PostAsJsonAsync("/sandbox/behaviour", new { queryRateLimit = 3, queryRateWindow = "00:01:00", queryBlock = "00:00:02" })).EnsureSuccessStatusCode();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 6; i++) statuses.Add((await QueryAsync("RATE" + i)).Status);
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden], statuses);
        var view = await host.Client.GetFromJsonAsync<JsonElement>("/sandbox/behaviour");
        Assert.Equal(3, view.GetProperty("queryRefused").GetInt32());
        // After the block, answered again.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await QueryAsync("RATEAFTER")).Status == HttpStatusCode.Forbidden) { Assert.True(DateTime.UtcNow < deadline); await Task.Delay(200); }
    }

    [Theory]
    [InlineData("Credit", "card", "cardReportLag")]
    [InlineData("BARCODE", "barcode", "barcodeReportLag")]
    [InlineData("ATM", "atm", "atmReportLag")]
    public async Task APaymentReachesEcpayOnlyAfterItsPaymentTypesReportingLag(string method, string action, string lag)
    {
        (await host.Client.PostAsJsonAsync("/sandbox/behaviour", new Dictionary<string, string> { [lag] = "00:00:02" })).EnsureSuccessStatusCode();
        var tradeNo = await CheckoutAsync(method);
        var issued = 0;
        if (action != "card")
        {
            (await PayAsync(tradeNo, action)).EnsureSuccessStatusCode();
            issued = (await host.WaitForPostsAsync(1)).Count;
            action = "paid";
        }
        (await PayAsync(tradeNo, action)).EnsureSuccessStatusCode();
        // Paid, but ECPay does not know yet: TradeStatus 0 (a card pending at the bank), and nothing posted.
        var pending = Assert.IsType<QueryTradeInfoResult.Answered>(Interpret((await QueryAsync(tradeNo)).Body, tradeNo));
        Assert.Equal(TradeStatus.Unpaid, pending.Trade.Status);
        Assert.Equal(issued, host.Received.Count);
        var posts = await host.WaitForPostsAsync(issued + 1);
        Assert.Equal("/return", posts[^1].Path);
        Assert.Equal("1", posts[^1].Form["RtnCode"]);
        Assert.Equal(TradeStatus.Paid, Assert.IsType<QueryTradeInfoResult.Answered>(Interpret((await QueryAsync(tradeNo)).Body, tradeNo)).Trade.Status);
    }

    [Fact]
    public async Task BnplAppliesAtPaymentInfoUrlWithRtnCode2AndNoAccountThenPaysAtReturnUrl()
    {
        var tradeNo = await CheckoutAsync("BNPL", 3_000);
        Assert.Equal(HttpStatusCode.Conflict, (await PayAsync(tradeNo, "card")).StatusCode); // BNPL is not a card
        (await PayAsync(tradeNo, "bnpl")).EnsureSuccessStatusCode();
        var (path, form) = Assert.Single(await host.WaitForPostsAsync(1));
        Assert.Equal("/payment-info", path);
        Assert.Equal("2", form["RtnCode"]);
        Assert.Null(form["BankCode"]);
        Assert.Null(form["vAccount"]);
        Assert.NotEmpty(form["BNPLTradeNo"]!);
        Assert.True(CheckMacValue.Verify(form, EcpayCredentials.Stage.HashKey, EcpayCredentials.Stage.HashIv));
        Assert.Equal(TradeStatus.Unpaid, Assert.IsType<QueryTradeInfoResult.Answered>(Interpret((await QueryAsync(tradeNo)).Body, tradeNo)).Trade.Status);

        (await PayAsync(tradeNo, "paid")).EnsureSuccessStatusCode();
        var paid = (await host.WaitForPostsAsync(2))[1];
        Assert.Equal("/return", paid.Path);
        Assert.Equal("1", paid.Form["RtnCode"]);
    }
}
