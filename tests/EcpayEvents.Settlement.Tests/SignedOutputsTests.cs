using System.Collections.Concurrent;
using System.Net;
using EcpayEvents.Ecpay;
using EcpayEvents.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace EcpayEvents.Settlement.Tests;

/// <summary>
/// Every field of every form or request the server signs with the merchant key — the checkout form served as
/// the page and as JSON, and the QueryTradeInfo request — taken from what the code produces (not a list of
/// names), for every payment method and client input a client could choose: none may carry '&amp;', '=' or a
/// control character, whoever chose it.
/// </summary>
public sealed class SignedOutputsTests(StackFixture fixture) : IClassFixture<StackFixture>
{
    private SettlementStack S => fixture.Stack;

    // What a client chooses: the item name (the only free text), the amount and the method.
    private static readonly string?[] ItemNames =
    [
        null, "points", "點數 100#bonus", "a&b", "a=b", "x&RtnCode=1&zz=", "&", "=", "a\r\nb", "a\tb", "a\0b", "＆＝％", "%26%3D", "+&+",
        new string('綠', 133), "  padded  ",
    ];

    [Fact]
    public async Task NoSignedFieldCarriesASeparatorWhateverTheClientChose()
    {
        await using var api = await CheckoutApi.StartAsync(S);
        await using var query = await QueryTradeInfoCapture.StartAsync();
        var user = await api.CreateUserAsync();
        var outputs = new List<(string What, List<KeyValuePair<string, string>> Fields)>();
        var refused = 0;
        foreach (var method in new[] { ChoosePayment.Credit, ChoosePayment.Atm, ChoosePayment.Cvs, ChoosePayment.Barcode, ChoosePayment.WebAtm, ChoosePayment.All })
        {
            foreach (var itemName in ItemNames)
            {
                var (status, deposit, _) = await api.RequestDepositAsync(user, 100, method, itemName);
                if (deposit is null)
                {
                    Assert.Equal(HttpStatusCode.BadRequest, status);
                    refused++;
                    continue;
                }
                var page = outputs.Count % 2 == 0;
                outputs.Add(($"{method} checkout {(page ? "page" : "JSON")}, itemName {Show(itemName)}", page ? await api.CheckoutPageAsync(deposit.Id) : await api.CheckoutJsonAsync(deposit.Id)));
                outputs.Add(($"{method} QueryTradeInfo request", (await query.RequestAsync(deposit.MerchantTradeNo))!));
            }
        }

        Assert.True(refused > 0 && outputs.Count > 0);
        foreach (var (what, fields) in outputs)
        {
            Assert.True(CheckMacValue.Verify(fields, SettlementStack.Credentials.HashKey, SettlementStack.Credentials.HashIv), what);
            foreach (var (name, value) in fields)
            {
                Assert.True(CheckMacValue.SeparatorProblem(name) is null, $"{what}: field name {name}");
                Assert.True(CheckMacValue.SeparatorProblem(value) is null, $"{what}: {name} = {Show(value)}: {CheckMacValue.SeparatorProblem(value)}");
            }
        }
    }

    [Fact]
    public async Task AQueryForAMerchantTradeNoWithASeparatorIsRefusedBeforeAnythingIsSent()
    {
        await using var query = await QueryTradeInfoCapture.StartAsync();
        Assert.Null(await query.RequestAsync("EE1&RtnCode=1"));
        Assert.Null(await query.RequestAsync("EE1", platformId: "P1&RtnCode=1"));
        Assert.Null(await query.RequestAsync("EE1", platformId: "P1\nX"));
        Assert.NotNull(await query.RequestAsync("EE1", platformId: "P1"));
    }

    private static string Show(string? s) => s is null ? "(none)" : System.Text.Json.JsonSerializer.Serialize(s);

}

/// <summary>A local stand-in for ECPay's QueryTradeInfo/V5 that keeps every request QueryTradeInfoClient sends it.</summary>
public sealed class QueryTradeInfoCapture : IAsyncDisposable
{
    private readonly ConcurrentQueue<List<KeyValuePair<string, string>>> captured = new();
    private readonly HttpClient http = new();
    private WebApplication app = null!;

    public static async Task<QueryTradeInfoCapture> StartAsync()
    {
        var capture = new QueryTradeInfoCapture();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        capture.app = builder.Build();
        capture.app.MapPost("/Cashier/QueryTradeInfo/V5", async (HttpContext context) =>
        {
            var form = await context.Request.ReadFormAsync();
            capture.captured.Enqueue(form.Select(f => new KeyValuePair<string, string>(f.Key, f.Value.ToString())).ToList());
            await context.Response.WriteAsync("TradeStatus=10200047&RtnMsg=Order not found");
        });
        await capture.app.StartAsync();
        return capture;
    }

    /// <summary>The request the Timeouts service's client sends for <paramref name="merchantTradeNo"/>, or null when it refused to send one.</summary>
    public async Task<List<KeyValuePair<string, string>>?> RequestAsync(string merchantTradeNo, string? platformId = null)
    {
        var client = new QueryTradeInfoClient(http, new QueryTradeInfoOptions
        {
            Endpoints = EcpayUrls.FromBaseUrl(app.BoundAddress().ToString()),
            Credentials = SettlementStack.Credentials,
            PlatformId = platformId,
        }, TimeProvider.System);
        var before = captured.Count;
        try
        {
            await client.QueryAsync(merchantTradeNo);
        }
        catch (ArgumentException)
        {
            Assert.Equal(before, captured.Count);
            return null;
        }
        Assert.True(captured.TryDequeue(out var request));
        return request;
    }

    public async ValueTask DisposeAsync()
    {
        http.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
