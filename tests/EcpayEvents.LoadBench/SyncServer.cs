using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using EcpayEvents.Ecpay;
using EcpayEvents.Messaging;
using EcpayEvents.Payments;
using EcpayEvents.Payments.Settlement;

namespace EcpayEvents.LoadBench;

/// <summary>
/// The reference design of the end-to-end benchmark, built in the bench only: the ReturnURL callback verifies
/// the post and credits it inside the request (the same settlement code, same MariaDB), then answers 1|OK.
/// No queue: what the event-driven design pays for absorbing bursts shows against it.
/// </summary>
internal static class SyncServer
{
    public static async Task RunAsync(string connectionString, int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        await using var database = new PaymentsDatabase(connectionString);
        var settlement = new PaymentResultSettlement(database, Payments.Credentials, new SettlementPolicy(Payments.Credentials.MerchantId, AllowSimulatedPayments: false));
        app.MapGet("/healthz", () => "ok");
        app.MapPost("/ecpay/return", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            if (!EcpayForm.TryParse(await reader.ReadToEndAsync(), out var form, out _)
                || !CheckMacValue.Verify(form, Payments.Credentials.HashKey, Payments.Credentials.HashIv))
                return Results.Text("0|CheckMacValue error", statusCode: 400);
            var fields = new Dictionary<string, string>(form.Count, StringComparer.Ordinal);
            foreach (var (key, value) in form) fields[key] = value;
            await settlement.SettleAsync(new PaymentResultMessage(PaymentResultSource.ReturnUrl, fields, DateTimeOffset.UtcNow));
            return Results.Text("1|OK");
        });
        await app.RunAsync();
    }
}
