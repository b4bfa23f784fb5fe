using System.Globalization;
using EcpayEvents.Ecpay;
using EcpayEvents.Hosting;
using EcpayEvents.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace EcpayEvents.Settlement.Tests;

/// <summary>ECPay's QueryTradeInfo/V5 for the fault suite: every deposit it was told about is paid (signed answer), any other is not found.</summary>
internal sealed class PaidQueryTradeInfo(EcpayCredentials credentials) : IAsyncDisposable
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (long Amount, string TradeNo)> paid = new();
    private WebApplication? app;

    public Uri BaseUrl => app!.BoundAddress();

    public void SetPaid(Deposit d) => paid[d.MerchantTradeNo] = (d.Amount, "27" + d.Id.ToString("D14", CultureInfo.InvariantCulture));

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        app = builder.Build();
        app.MapPost("/Cashier/QueryTradeInfo/V5", async (HttpContext context) =>
        {
            var form = await context.Request.ReadFormAsync();
            var merchantTradeNo = form["MerchantTradeNo"].ToString();
            var now = DateTimeOffset.UtcNow;
            var isPaid = paid.TryGetValue(merchantTradeNo, out var trade);
            var fields = isPaid
                ? SignedEcpayPost.QueryTradeInfo(merchantTradeNo, trade.Amount, tradeNo: trade.TradeNo, paymentDate: TaiwanTime.Format(now),
                    tradeDate: TaiwanTime.Format(now.AddMinutes(-1)), paymentTypeChargeFee: "0", credentials: credentials)
                : SignedEcpayPost.QueryTradeInfo(merchantTradeNo, 0, tradeStatus: "10200047", tradeNo: "", paymentDate: "",
                    tradeDate: TaiwanTime.Format(now.AddMinutes(-1)), paymentType: "", paymentTypeChargeFee: "0", credentials: credentials);
            context.Response.ContentType = "text/html";
            await context.Response.WriteAsync(EcpayForm.ToFormBody(fields));
        });
        await app.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (app is null) return;
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
