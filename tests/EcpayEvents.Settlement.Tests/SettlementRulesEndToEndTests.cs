using EcpayEvents.Ecpay;
using EcpayEvents.Messaging;

namespace EcpayEvents.Settlement.Tests;

/// <summary>Every settlement rule, through the services: Notifications → SQS → runner → Settlement → MariaDB.</summary>
public sealed class SettlementRulesEndToEndTests(StackFixture fixture) : IClassFixture<StackFixture>, IAsyncLifetime
{
    private SettlementStack S => fixture.Stack;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await S.Db.AssertLedgerInvariantAsync();

    private async Task PostReturnAsync(Dictionary<string, string> fields)
    {
        await S.PostAcknowledgedAsync("/ecpay/return", fields);
        await S.WaitForQueueDrainedAsync();
    }

    private async Task PostPaymentInfoAsync(Dictionary<string, string> fields)
    {
        await S.PostAcknowledgedAsync("/ecpay/payment-info", fields);
        await S.WaitForQueueDrainedAsync();
    }

    [Fact]
    public async Task APaidReturnUrlCompletesThePaymentAndCreditsItOnce()
    {
        var d = await S.SeedDepositAsync(750);
        await PostReturnAsync(SettlementStack.ReturnFields(d.MerchantTradeNo, 750));

        Assert.Equal("completed", await S.StatusAsync(d.Id));
        Assert.Equal(750, await S.BalanceAsync(d.UserId));
        Assert.Equal(1, await S.LedgerEntriesAsync(d.Id));
        Assert.Equal("2611250000000001", await S.ColumnAsync(d.Id, "ecpay_trade_no"));
        Assert.Equal("Credit_CreditCard", await S.ColumnAsync(d.Id, "payment_type"));
        Assert.Equal("2026-11-25 04:00:00.000000", await S.ColumnAsync(d.Id, "paid_at"));
        Assert.Equal(1, await S.EventsAsync(d.MerchantTradeNo, "credited"));
    }

    [Fact]
    public async Task AReSentResultWithAnotherRtnMsgChangesNothing()
    {
        var d = await S.SeedDepositAsync(300);
        await PostReturnAsync(SettlementStack.ReturnFields(d.MerchantTradeNo, 300, rtnMsg: "交易成功"));
        await PostReturnAsync(SettlementStack.ReturnFields(d.MerchantTradeNo, 300, rtnMsg: "paid"));

        Assert.Equal(300, await S.BalanceAsync(d.UserId));
        Assert.Equal(1, await S.EventsAsync(d.MerchantTradeNo));
    }

    [Fact]
    public async Task ASimulatedPaymentIsRecordedButNeverCredited()
    {
        var d = await S.SeedDepositAsync(500);
        await PostReturnAsync(SettlementStack.ReturnFields(d.MerchantTradeNo, 500, simulatePaid: "1"));

        Assert.Equal("pending", await S.StatusAsync(d.Id));
        Assert.Equal(0, await S.BalanceAsync(d.UserId));
        Assert.Equal(1, await S.EventsAsync(d.MerchantTradeNo, "simulated"));
    }

    [Fact]
    public async Task AFailedResultFailsAPendingPayment()
    {
        var d = await S.SeedDepositAsync(500);
        await PostReturnAsync(SettlementStack.ReturnFields(d.MerchantTradeNo, 500, rtnCode: "10100058", rtnMsg: "付款失敗"));

        Assert.Equal("failed", await S.StatusAsync(d.Id));
        Assert.Equal("10100058", await S.ColumnAsync(d.Id, "rtn_code"));
        Assert.Equal("付款失敗", await S.ColumnAsync(d.Id, "rtn_msg"));
        Assert.Equal(0, await S.BalanceAsync(d.UserId));
    }

    [Fact]
    public async Task ACompletedPaymentIsNeverDowngradedByALaterFailure()
    {
        var d = await S.SeedDepositAsync(500);
        await PostReturnAsync(SettlementStack.ReturnFields(d.MerchantTradeNo, 500));
        await PostReturnAsync(SettlementStack.ReturnFields(d.MerchantTradeNo, 500, rtnCode: "10100058", rtnMsg: "failed"));
        await PostPaymentInfoAsync(SettlementStack.AtmIssuedFields(d.MerchantTradeNo, 500, rtnCode: "10100050"));

        Assert.Equal("completed", await S.StatusAsync(d.Id));
        Assert.Equal(500, await S.BalanceAsync(d.UserId));
        Assert.Equal(2, await S.EventsAsync(d.MerchantTradeNo, "ignored"));
    }

    [Fact]
    public async Task APaymentAfterExpiryIsStillCreditedAndFlaggedForReview()
    {
        var d = await S.SeedDepositAsync(400, status: "expired");
        await PostReturnAsync(SettlementStack.ReturnFields(d.MerchantTradeNo, 400));

        Assert.Equal("completed", await S.StatusAsync(d.Id));
        Assert.Equal(400, await S.BalanceAsync(d.UserId));
        Assert.Equal("paid after expiry", await S.ColumnAsync(d.Id, "review_reason"));
        Assert.Equal(1, await S.EventsAsync(d.MerchantTradeNo, "credited_late"));
    }

    [Fact]
    public async Task AnAmountMismatchIsRejectedAndNotCredited()
    {
        var d = await S.SeedDepositAsync(500);
        await PostReturnAsync(SettlementStack.ReturnFields(d.MerchantTradeNo, 5));

        Assert.Equal("pending", await S.StatusAsync(d.Id));
        Assert.Equal(0, await S.BalanceAsync(d.UserId));
        Assert.Equal(1, await S.EventsAsync(d.MerchantTradeNo, "rejected"));
    }

    [Fact]
    public async Task AnUnknownMerchantTradeNoIsRejectedAndAcknowledged()
    {
        var unknown = SettlementStack.NewMerchantTradeNo();
        await PostReturnAsync(SettlementStack.ReturnFields(unknown, 500));

        Assert.Equal(1, await S.EventsAsync(unknown, "rejected"));
        Assert.Equal(0L, await S.Db.ScalarAsync<long>("SELECT COUNT(*) FROM payment_events WHERE merchant_trade_no = @m AND transaction_id IS NOT NULL", ("@m", unknown)));
    }

    [Fact]
    public async Task AnAtmNumberIsStoredAndThePaymentStaysPendingUntilPaid()
    {
        var d = await S.SeedDepositAsync(1200);
        await PostPaymentInfoAsync(SettlementStack.AtmIssuedFields(d.MerchantTradeNo, 1200));

        Assert.Equal("pending", await S.StatusAsync(d.Id));
        Assert.Equal("812", await S.ColumnAsync(d.Id, "bank_code"));
        Assert.Equal("9103522175887271", await S.ColumnAsync(d.Id, "v_account"));
        Assert.Equal("2026-11-28 15:59:59.000000", await S.ColumnAsync(d.Id, "expires_at")); // end of 11/28 in Taiwan, as UTC
        Assert.Equal("2", await S.ColumnAsync(d.Id, "rtn_code"));
        Assert.Equal(0, await S.BalanceAsync(d.UserId));

        var paid = SettlementStack.ReturnFields(d.MerchantTradeNo, 1200);
        paid["PaymentType"] = "ATM_TAISHIN";
        await PostReturnAsync(SettlementStack.Signed(paid));
        Assert.Equal("completed", await S.StatusAsync(d.Id));
        Assert.Equal(1200, await S.BalanceAsync(d.UserId));
    }

    [Fact]
    public async Task ACvsPaymentCodeIsStored()
    {
        var d = await S.SeedDepositAsync(800);
        await PostPaymentInfoAsync(SettlementStack.CvsIssuedFields(d.MerchantTradeNo, 800));

        Assert.Equal("pending", await S.StatusAsync(d.Id));
        Assert.Equal("LLL22251222", await S.ColumnAsync(d.Id, "payment_no"));
        Assert.Equal("2026-12-02 03:59:00.000000", await S.ColumnAsync(d.Id, "expires_at"));
    }

    [Fact]
    public async Task AFailedIssuingFailsAPendingPayment()
    {
        var d = await S.SeedDepositAsync(800);
        await PostPaymentInfoAsync(SettlementStack.AtmIssuedFields(d.MerchantTradeNo, 800, rtnCode: "10100050"));

        Assert.Equal("failed", await S.StatusAsync(d.Id));
        Assert.Equal("10100050", await S.ColumnAsync(d.Id, "rtn_code"));
    }

    [Fact]
    public async Task APaidQueryTradeInfoAnswerCreditsOnceEvenWhenTheReturnUrlFollows()
    {
        var d = await S.SeedDepositAsync(650);
        await S.EnqueueAsync(PaymentResultSource.QueryTradeInfo, SettlementStack.QueryTradeInfoFields(d.MerchantTradeNo, 650));
        await S.WaitForQueueDrainedAsync();
        Assert.Equal("completed", await S.StatusAsync(d.Id));
        Assert.Equal("2611250000000004", await S.ColumnAsync(d.Id, "ecpay_trade_no"));

        await PostReturnAsync(SettlementStack.ReturnFields(d.MerchantTradeNo, 650));
        Assert.Equal(650, await S.BalanceAsync(d.UserId));
        Assert.Equal(1, await S.EventsAsync(d.MerchantTradeNo, "already_completed"));
    }

    [Fact]
    public async Task AnUnpaidQueryTradeInfoAnswerChangesNothing()
    {
        var d = await S.SeedDepositAsync(650);
        await S.EnqueueAsync(PaymentResultSource.QueryTradeInfo, SettlementStack.QueryTradeInfoFields(d.MerchantTradeNo, 650, tradeStatus: "0"));
        await S.WaitForQueueDrainedAsync();

        Assert.Equal("pending", await S.StatusAsync(d.Id));
        Assert.Equal(1, await S.EventsAsync(d.MerchantTradeNo, "ignored"));
    }

    [Fact]
    public async Task AForgedMessageOnTheQueueIsRejectedNotCredited()
    {
        var d = await S.SeedDepositAsync(500);
        var forged = SettlementStack.ReturnFields(d.MerchantTradeNo, 500);
        forged[CheckMacValue.FieldName] = new string('A', 64);
        await S.EnqueueAsync(PaymentResultSource.ReturnUrl, forged);
        await S.WaitForQueueDrainedAsync();

        Assert.Equal("pending", await S.StatusAsync(d.Id));
        Assert.Equal(1, await S.EventsAsync(d.MerchantTradeNo, "rejected"));

        // The genuine result still settles: the forged copy did not take its dedup key.
        await PostReturnAsync(SettlementStack.ReturnFields(d.MerchantTradeNo, 500));
        Assert.Equal(500, await S.BalanceAsync(d.UserId));
    }

    [Fact]
    public async Task AResultForAnotherMerchantOnTheQueueIsRejected()
    {
        var d = await S.SeedDepositAsync(500);
        await S.EnqueueAsync(PaymentResultSource.ReturnUrl, SettlementStack.ReturnFields(d.MerchantTradeNo, 500, merchantId: "2000132"));
        await S.WaitForQueueDrainedAsync();

        Assert.Equal("pending", await S.StatusAsync(d.Id));
        Assert.Equal(1, await S.EventsAsync(d.MerchantTradeNo, "rejected"));
    }

    [Fact]
    public async Task AMessageWhoseFieldsDoNotParseIsRejectedNotRetried()
    {
        var d = await S.SeedDepositAsync(500);
        var fields = SettlementStack.ReturnFields(d.MerchantTradeNo, 500);
        fields["TradeAmt"] = "500.00";
        await S.EnqueueAsync(PaymentResultSource.ReturnUrl, SettlementStack.Signed(fields));
        await S.WaitForQueueDrainedAsync();

        Assert.Equal(1, await S.EventsAsync(d.MerchantTradeNo, "rejected"));
        Assert.Equal(0L, await S.Db.ScalarAsync<long>("SELECT COUNT(*) FROM payment_events WHERE merchant_trade_no = @m AND reason NOT LIKE 'malformed%'", ("@m", d.MerchantTradeNo)));
    }
}

/// <summary>With the stage-only setting on, a simulated payment is credited like a real one.</summary>
public sealed class SimulatedPaymentsAllowedTests
{
    [Fact]
    public async Task ASimulatedPaymentIsCreditedWhenAllowed()
    {
        await using var s = await SettlementStack.StartAsync("simallowed", allowSimulated: true);
        var d = await s.SeedDepositAsync(500);
        await s.PostAcknowledgedAsync("/ecpay/return", SettlementStack.ReturnFields(d.MerchantTradeNo, 500, simulatePaid: "1"));
        await s.WaitForQueueDrainedAsync();

        Assert.Equal("completed", await s.StatusAsync(d.Id));
        Assert.Equal(500, await s.BalanceAsync(d.UserId));
        await s.Db.AssertLedgerInvariantAsync();
    }
}
