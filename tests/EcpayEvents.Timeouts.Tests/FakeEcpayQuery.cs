using System.Collections.Concurrent;
using EcpayEvents.Ecpay;
using EcpayEvents.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace EcpayEvents.Timeouts.Tests;

/// <summary>How ECPay answers QueryTradeInfo for one MerchantTradeNo.</summary>
public abstract record EcpayTrade
{
    /// <summary>TradeStatus 0 (created, not paid).</summary>
    public sealed record Unpaid(long Amount) : EcpayTrade;
    /// <summary>TradeStatus 1 with an ECPay TradeNo and PaymentDate.</summary>
    public sealed record Paid(long Amount, string TradeNo) : EcpayTrade;
    /// <summary>Any other TradeStatus (10200095 never chose, 10200047 not found, or one nobody knows).</summary>
    public sealed record Status(string TradeStatus) : EcpayTrade;
    /// <summary>ECPay is down: the connection is dropped without an answer.</summary>
    public sealed record Down : EcpayTrade;
    /// <summary>Answers only once the gate opens, with what <c>then</c> says at that moment (a query in flight during a race).</summary>
    public sealed record Gated(TaskCompletionSource Gate, Func<EcpayTrade> Then) : EcpayTrade;
}

/// <summary>
/// A local stand-in for ECPay's QueryTradeInfo/V5 (the sandbox was not ready): verifies our request's
/// CheckMacValue and answers signed key=value fields with <see cref="CheckMacValue.Compute"/>, per
/// MerchantTradeNo as <see cref="Set"/> says (default: not found). Counts the queries.
/// </summary>
public sealed class FakeEcpayQuery : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ConcurrentDictionary<string, EcpayTrade> trades = new();
    private readonly ConcurrentDictionary<string, int> queries = new();

    public EcpayCredentials Credentials { get; }

    private FakeEcpayQuery(WebApplication app, EcpayCredentials credentials)
    {
        this.app = app;
        Credentials = credentials;
    }

    /// <summary>Where it listens (after start): use as Ecpay:BaseUrl.</summary>
    public Uri BaseUrl => new(app.Urls.First());

    public void Set(string merchantTradeNo, EcpayTrade trade) => trades[merchantTradeNo] = trade;

    public int Queries(string merchantTradeNo) => queries.GetValueOrDefault(merchantTradeNo);

    public static async Task<FakeEcpayQuery> StartAsync(EcpayCredentials credentials)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeEcpayQuery(app, credentials);
        app.MapPost("/Cashier/QueryTradeInfo/V5", fake.AnswerAsync);
        await app.StartAsync();
        return fake;
    }

    private async Task AnswerAsync(HttpContext context)
    {
        var form = await context.Request.ReadFormAsync();
        var request = EcpayForm.FromFields(form.Select(f => new KeyValuePair<string, string>(f.Key, f.Value.ToString())));
        if (!CheckMacValue.Verify(request, Credentials.HashKey, Credentials.HashIv))
        {
            // ECPay's error answers carry no CheckMacValue.
            await context.Response.WriteAsync("CheckMacValue Error");
            return;
        }
        var merchantTradeNo = request["MerchantTradeNo"] ?? "";
        queries.AddOrUpdate(merchantTradeNo, 1, (_, n) => n + 1);
        var trade = trades.GetValueOrDefault(merchantTradeNo) ?? new EcpayTrade.Status("10200047");
        while (trade is EcpayTrade.Gated gated)
        {
            await gated.Gate.Task;
            trade = gated.Then();
        }
        if (trade is EcpayTrade.Down)
        {
            context.Abort();
            return;
        }

        var now = DateTimeOffset.UtcNow;
        var (status, amount, tradeNo, paymentDate, paymentType) = trade switch
        {
            EcpayTrade.Paid p => ("1", p.Amount, p.TradeNo, TaiwanTime.Format(now), "Credit_CreditCard"),
            EcpayTrade.Unpaid u => ("0", u.Amount, "", "", ""),
            EcpayTrade.Status s => (s.TradeStatus, 0L, "", "", ""),
            _ => throw new InvalidOperationException(trade.ToString()),
        };
        var fields = SignedEcpayPost.QueryTradeInfo(merchantTradeNo, amount, status, tradeNo, paymentDate, TaiwanTime.Format(now.AddMinutes(-1)), paymentType,
            paymentTypeChargeFee: "0", itemName: "Deposit", credentials: Credentials);
        context.Response.ContentType = "text/html";
        await context.Response.WriteAsync(EcpayForm.ToFormBody(fields));
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
