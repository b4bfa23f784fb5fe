using EcpayEvents.Testing;
using System.Text.Json;
using EcpayEvents.Messaging;
using EcpayEvents.Payments.Settlement;

namespace EcpayEvents.Settlement.Tests;

/// <summary>A rejected result keeps what an operator needs, with its raw fields bounded; an accepted one stays whole.</summary>
public sealed class RejectedResultStorageTests : IAsyncLifetime
{
    private SettlementStack s = null!;

    public async ValueTask InitializeAsync() => s = await SettlementStack.StartAsync("rejectedraw");

    public async ValueTask DisposeAsync()
    {
        await s.Db.AssertLedgerInvariantAsync();
        await s.DisposeAsync();
    }

    [Fact]
    public async Task AHugeRejectedMessageIsStoredBoundedWithReasonMerchantTradeNoSourceAndTime()
    {
        var tradeNo = SettlementStack.NewMerchantTradeNo();
        var fields = SignedEcpayPost.ReturnUrl(tradeNo, 100);
        for (var i = 0; i < 100; i++) fields[$"Junk{i:D3}"] = new string('x', 150) + "<script>'";
        await s.EnqueueAsync(PaymentResultSource.ReturnUrl, fields); // the extra fields break the MAC: rejected
        await Poll.UntilAsync(async () => await s.EventsAsync(tradeNo) == 1, "the rejected event", TimeSpan.FromSeconds(30));

        var raw = await s.Db.ScalarAsync<string>("SELECT raw_fields FROM payment_events WHERE merchant_trade_no = @m", ("@m", tradeNo));
        Assert.InRange(raw.Length, 1, RejectedRawFields.MaxChars);
        var kept = JsonSerializer.Deserialize<Dictionary<string, string>>(raw)!;
        Assert.Equal(tradeNo, kept["MerchantTradeNo"]);
        Assert.StartsWith($"{JsonSerializer.Serialize(fields).Length} characters of JSON in {fields.Count} fields", kept[RejectedRawFields.TruncatedKey], StringComparison.Ordinal);
        Assert.Equal("rejected|CheckMacValue does not verify|ReturnURL|1",
            await s.Db.ScalarAsync<string>("SELECT CONCAT_WS('|', outcome, reason, source, received_at IS NOT NULL AND recorded_at IS NOT NULL) FROM payment_events WHERE merchant_trade_no = @m", ("@m", tradeNo)));
    }

    [Fact]
    public async Task AnAcceptedResultKeepsItsRawFieldsWhole()
    {
        var deposit = await s.SeedDepositAsync(amount: 300);
        var fields = SignedEcpayPost.ReturnUrl(deposit.MerchantTradeNo, 300);
        await s.PostAcknowledgedAsync("/ecpay/return", fields);
        await Poll.UntilAsync(async () => await s.LedgerEntriesAsync(deposit.Id) == 1, "the credit", TimeSpan.FromSeconds(30));
        var raw = await s.Db.ScalarAsync<string>("SELECT raw_fields FROM payment_events WHERE merchant_trade_no = @m", ("@m", deposit.MerchantTradeNo));
        Assert.Equal(fields, JsonSerializer.Deserialize<Dictionary<string, string>>(raw));
        Assert.Equal(300, await s.BalanceAsync(deposit.UserId));
    }
}
