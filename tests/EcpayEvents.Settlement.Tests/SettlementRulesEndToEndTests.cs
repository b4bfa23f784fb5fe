using EcpayEvents.Ecpay;
using EcpayEvents.Messaging;
using EcpayEvents.Testing;
using Microsoft.Extensions.Logging;
using EcpayEvents.Payments.Settlement;

namespace EcpayEvents.Settlement.Tests;

/// <summary>Every settlement rule, through the services: Notifications → SQS → runner → Settlement → MariaDB.</summary>
public sealed class SettlementRulesEndToEndTests(StackFixture fixture) : IClassFixture<StackFixture>, IAsyncLifetime
{
    private SettlementStack S => fixture.Stack;

    private long deadLettered;

    // The class shares one stack: each test checks only what it added to the dead-letter queue.
    public async ValueTask InitializeAsync() => deadLettered = await S.DeadLetteredAsync();

    public async ValueTask DisposeAsync()
    {
        await S.Db.AssertLedgerInvariantAsync();
        Assert.Equal(deadLettered, await S.DeadLetteredAsync()); // every message acknowledged, none given up on
    }

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

    /// <summary>
    /// A signed body whose fields are not what ECPay sends to <paramref name="path"/>: Notifications refuses it;
    /// put on the queue directly (messages could come from elsewhere), Settlement records it for an operator.
    /// </summary>
    private async Task RefusedByNotificationsThenQueuedAsync(string path, string source, Dictionary<string, string> fields)
    {
        var (status, answer, _) = await S.PostAsync(path, EcpayForm.ToFormBody(fields));
        Assert.Equal((System.Net.HttpStatusCode.BadRequest, "0|unexpected fields"), (status, answer));
        await S.EnqueueAsync(source, fields);
        await S.WaitForQueueDrainedAsync();
    }

    [Fact]
    public async Task APaidReturnUrlCompletesThePaymentAndCreditsItOnce()
    {
        var d = await S.SeedDepositAsync(750);
        await PostReturnAsync(SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 750));

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
        await PostReturnAsync(SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 300, rtnMsg: "交易成功"));
        await PostReturnAsync(SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 300, rtnMsg: "paid"));

        Assert.Equal(300, await S.BalanceAsync(d.UserId));
        Assert.Equal(1, await S.EventsAsync(d.MerchantTradeNo));
    }

    [Fact]
    public async Task ASimulatedPaymentIsRecordedButNeverCredited()
    {
        var d = await S.SeedDepositAsync(500);
        await PostReturnAsync(SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 500, simulatePaid: "1"));

        Assert.Equal("pending", await S.StatusAsync(d.Id));
        Assert.Equal(0, await S.BalanceAsync(d.UserId));
        Assert.Equal(1, await S.EventsAsync(d.MerchantTradeNo, "simulated"));
    }

    [Fact]
    public async Task AFailedResultFailsAPendingPayment()
    {
        var d = await S.SeedDepositAsync(500);
        await PostReturnAsync(SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 500, rtnCode: "10100058", rtnMsg: "付款失敗"));

        Assert.Equal("failed", await S.StatusAsync(d.Id));
        Assert.Equal("10100058", await S.ColumnAsync(d.Id, "rtn_code"));
        Assert.Equal("付款失敗", await S.ColumnAsync(d.Id, "rtn_msg"));
        Assert.Equal(0, await S.BalanceAsync(d.UserId));
    }

    [Fact]
    public async Task ACompletedPaymentIsNeverDowngradedByALaterFailure()
    {
        var d = await S.SeedDepositAsync(500);
        await PostReturnAsync(SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 500));
        await PostReturnAsync(SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 500, rtnCode: "10100058", rtnMsg: "failed"));
        await PostPaymentInfoAsync(SignedEcpayPost.AtmIssued(d.MerchantTradeNo, 500, rtnCode: "10100050"));

        Assert.Equal("completed", await S.StatusAsync(d.Id));
        Assert.Equal(500, await S.BalanceAsync(d.UserId));
        Assert.Equal(2, await S.EventsAsync(d.MerchantTradeNo, "ignored"));
    }

    [Fact]
    public async Task APaymentAfterExpiryIsStillCreditedAndFlaggedForReview()
    {
        var d = await S.SeedDepositAsync(400, status: "expired");
        await PostReturnAsync(SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 400));

        Assert.Equal("completed", await S.StatusAsync(d.Id));
        Assert.Equal(400, await S.BalanceAsync(d.UserId));
        Assert.Equal("paid after expiry", await S.ColumnAsync(d.Id, "review_reason"));
        Assert.Equal(1, await S.EventsAsync(d.MerchantTradeNo, "credited_late"));
    }

    [Fact]
    public async Task AReviewAnOperatorResolvedIsReopenedByANewFlagButNotByAnOrdinaryResult()
    {
        async Task ResolveAsync(Deposit d) => await S.Db.ExecuteAsync(
            "UPDATE transactions SET reviewed_at = UTC_TIMESTAMP(6), review_note = 'looked at it' WHERE id = @id", ("@id", d.Id));

        // Flagged (wrong amount, not credited), resolved; the real payment then credits it and leaves the review closed…
        var d = await S.SeedDepositAsync(500);
        await PostReturnAsync(SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 5));
        Assert.Null(await S.ColumnAsync(d.Id, "reviewed_at"));
        await ResolveAsync(d);
        await PostReturnAsync(SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 500, tradeNo: "2611250000000777"));
        Assert.Equal(("completed", 500L), (await S.StatusAsync(d.Id), await S.BalanceAsync(d.UserId)));
        Assert.NotNull(await S.ColumnAsync(d.Id, "reviewed_at"));
        Assert.Equal("looked at it", await S.ColumnAsync(d.Id, "review_note"));

        // …a new reason re-opens it: a simulated result after completion (FlagForReview)…
        await PostReturnAsync(SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 500, simulatePaid: "1", tradeNo: "2611250000000778"));
        Assert.Equal("simulated result after completion: check the credit was a real payment", await ReviewReasonAsync(d));
        Assert.Equal((null, "looked at it"), (await S.ColumnAsync(d.Id, "reviewed_at"), await S.ColumnAsync(d.Id, "review_note"))); // open; the earlier note kept

        // …and money after expiry on a transaction whose earlier review was resolved (Complete).
        var late = await S.SeedDepositAsync(300, status: "expired");
        await S.Db.ExecuteAsync("UPDATE transactions SET review_reason = 'earlier' WHERE id = @id", ("@id", late.Id));
        await ResolveAsync(late);
        await PostReturnAsync(SignedEcpayPost.ReturnUrl(late.MerchantTradeNo, 300));
        Assert.Equal("paid after expiry", await ReviewReasonAsync(late));
        Assert.Null(await S.ColumnAsync(late.Id, "reviewed_at"));
    }

    [Fact]
    public async Task AnAmountMismatchIsRejectedAndNotCredited()
    {
        var d = await S.SeedDepositAsync(500);
        await PostReturnAsync(SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 5));

        Assert.Equal("pending", await S.StatusAsync(d.Id));
        Assert.Equal(0, await S.BalanceAsync(d.UserId));
        Assert.Equal(1, await S.EventsAsync(d.MerchantTradeNo, "rejected"));
    }

    [Fact]
    public async Task AnUnknownMerchantTradeNoIsRejectedAndAcknowledged()
    {
        var unknown = SettlementStack.NewMerchantTradeNo();
        await PostReturnAsync(SignedEcpayPost.ReturnUrl(unknown, 500));

        Assert.Equal(1, await S.EventsAsync(unknown, "rejected"));
        Assert.Equal(0L, await S.Db.ScalarAsync<long>("SELECT COUNT(*) FROM payment_events WHERE merchant_trade_no = @m AND transaction_id IS NOT NULL", ("@m", unknown)));
    }

    [Fact]
    public async Task AnAtmNumberIsStoredAndThePaymentStaysPendingUntilPaid()
    {
        var d = await S.SeedDepositAsync(1200);
        await PostPaymentInfoAsync(SignedEcpayPost.AtmIssued(d.MerchantTradeNo, 1200));

        Assert.Equal("pending", await S.StatusAsync(d.Id));
        Assert.Equal("812", await S.ColumnAsync(d.Id, "bank_code"));
        Assert.Equal("9103522175887271", await S.ColumnAsync(d.Id, "v_account"));
        Assert.Equal("2026-11-28 15:59:59.000000", await S.ColumnAsync(d.Id, "expires_at")); // end of 11/28 in Taiwan, as UTC
        Assert.Equal("2", await S.ColumnAsync(d.Id, "rtn_code"));
        Assert.Equal(0, await S.BalanceAsync(d.UserId));

        var paid = SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 1200);
        paid["PaymentType"] = "ATM_TAISHIN";
        await PostReturnAsync(SignedEcpayPost.Sign(paid));
        Assert.Equal("completed", await S.StatusAsync(d.Id));
        Assert.Equal(1200, await S.BalanceAsync(d.UserId));
    }

    [Fact]
    public async Task ACvsPaymentCodeIsStored()
    {
        var d = await S.SeedDepositAsync(800);
        await PostPaymentInfoAsync(SignedEcpayPost.CvsIssued(d.MerchantTradeNo, 800));

        Assert.Equal("pending", await S.StatusAsync(d.Id));
        Assert.Equal("LLL22251222", await S.ColumnAsync(d.Id, "payment_no"));
        Assert.Equal("2026-12-02 03:59:00.000000", await S.ColumnAsync(d.Id, "expires_at"));
    }

    [Fact]
    public async Task AFailedIssuingFailsAPendingPayment()
    {
        var d = await S.SeedDepositAsync(800);
        await PostPaymentInfoAsync(SignedEcpayPost.AtmIssued(d.MerchantTradeNo, 800, rtnCode: "10100050"));

        Assert.Equal("failed", await S.StatusAsync(d.Id));
        Assert.Equal("10100050", await S.ColumnAsync(d.Id, "rtn_code"));
    }

    [Fact]
    public async Task APaidQueryTradeInfoAnswerCreditsOnceEvenWhenTheReturnUrlFollows()
    {
        var d = await S.SeedDepositAsync(650);
        await S.EnqueueAsync(PaymentResultSource.QueryTradeInfo, SignedEcpayPost.QueryTradeInfo(d.MerchantTradeNo, 650));
        await S.WaitForQueueDrainedAsync();
        Assert.Equal("completed", await S.StatusAsync(d.Id));
        Assert.Equal("2611250000000004", await S.ColumnAsync(d.Id, "ecpay_trade_no"));

        await PostReturnAsync(SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 650));
        Assert.Equal(650, await S.BalanceAsync(d.UserId));
        Assert.Equal(1, await S.EventsAsync(d.MerchantTradeNo, "already_completed"));
    }

    [Fact]
    public async Task AnUnpaidQueryTradeInfoAnswerChangesNothing()
    {
        var d = await S.SeedDepositAsync(650);
        await S.EnqueueAsync(PaymentResultSource.QueryTradeInfo, SignedEcpayPost.QueryTradeInfo(d.MerchantTradeNo, 650, tradeStatus: "0"));
        await S.WaitForQueueDrainedAsync();

        Assert.Equal("pending", await S.StatusAsync(d.Id));
        Assert.Equal(1, await S.EventsAsync(d.MerchantTradeNo, "ignored"));
    }

    [Fact]
    public async Task AForgedMessageOnTheQueueIsRejectedNotCredited()
    {
        var d = await S.SeedDepositAsync(500);
        var forged = SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 500);
        forged[CheckMacValue.FieldName] = new string('A', 64);
        await S.EnqueueAsync(PaymentResultSource.ReturnUrl, forged);
        await S.WaitForQueueDrainedAsync();

        Assert.Equal("pending", await S.StatusAsync(d.Id));
        Assert.Equal(1, await S.EventsAsync(d.MerchantTradeNo, "rejected"));

        // The genuine result still settles: the forged copy did not take its dedup key.
        await PostReturnAsync(SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 500));
        Assert.Equal(500, await S.BalanceAsync(d.UserId));
    }

    [Fact]
    public async Task AResultForAnotherMerchantOnTheQueueIsRejected()
    {
        var d = await S.SeedDepositAsync(500);
        await S.EnqueueAsync(PaymentResultSource.ReturnUrl, SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 500, merchantId: "2000132"));
        await S.WaitForQueueDrainedAsync();

        Assert.Equal("pending", await S.StatusAsync(d.Id));
        Assert.Equal(1, await S.EventsAsync(d.MerchantTradeNo, "rejected"));
    }

    [Fact]
    public async Task AMessageWhoseFieldsDoNotParseIsRejectedNotRetried()
    {
        var d = await S.SeedDepositAsync(500);
        var fields = SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 500);
        fields["TradeAmt"] = "500.00";
        await S.EnqueueAsync(PaymentResultSource.ReturnUrl, SignedEcpayPost.Sign(fields));
        await S.WaitForQueueDrainedAsync();

        Assert.Equal(1, await S.EventsAsync(d.MerchantTradeNo, "rejected"));
        Assert.Equal(0L, await S.Db.ScalarAsync<long>("SELECT COUNT(*) FROM payment_events WHERE merchant_trade_no = @m AND reason NOT LIKE 'malformed%'", ("@m", d.MerchantTradeNo)));
    }

    // ---- review findings: simulated then "paid" by query, wrong endpoints, lenient parsing, review flags ----

    private Task<string?> ReviewReasonAsync(Deposit d) => S.ColumnAsync(d.Id, "review_reason");

    private Task<string> EventReasonAsync(Deposit d, string outcome) => S.Db.ScalarAsync<string>(
        "SELECT reason FROM payment_events WHERE merchant_trade_no = @m AND outcome = @o ORDER BY id DESC LIMIT 1", ("@m", d.MerchantTradeNo), ("@o", outcome));

    private IReadOnlyList<CapturedLog> AttentionLogs(Deposit d) =>
        S.Logs.WithEventId(3101).Where(l => l["MerchantTradeNo"] == d.MerchantTradeNo).ToList();

    [Fact]
    public async Task APaidQueryTradeInfoAnswerAfterASimulatedResultIsNotCreditedButFlaggedForReview()
    {
        var d = await S.SeedDepositAsync(500);
        await PostReturnAsync(SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 500, simulatePaid: "1"));
        Assert.Equal(1, await S.EventsAsync(d.MerchantTradeNo, "simulated"));
        // Someone used ECPay's back-office simulation: an operator is told.
        var simulated = Assert.Single(AttentionLogs(d));
        Assert.Equal("simulated", simulated["Outcome"]);
        Assert.Equal(LogLevel.Warning, simulated.Level);

        // The payment-timeout Reconcile then asks ECPay, whose answer says "paid" and cannot say "simulated".
        await S.EnqueueAsync(PaymentResultSource.QueryTradeInfo, SignedEcpayPost.QueryTradeInfo(d.MerchantTradeNo, 500));
        await S.WaitForQueueDrainedAsync();

        Assert.Equal("pending", await S.StatusAsync(d.Id));
        Assert.Equal(0, await S.BalanceAsync(d.UserId));
        Assert.Equal(0, await S.LedgerEntriesAsync(d.Id));
        Assert.Contains("SimulatePaid=1", await EventReasonAsync(d, "rejected"));
        Assert.Equal("paid per QueryTradeInfo after a simulated payment: check ECPay", await ReviewReasonAsync(d));
        Assert.Contains(AttentionLogs(d), l => l["Outcome"] == "rejected" && l["Source"] == PaymentResultSource.QueryTradeInfo);

        // A real ReturnURL (SimulatePaid=0 said explicitly) still credits, once.
        await PostReturnAsync(SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 500, tradeNo: "2611250000000009"));
        Assert.Equal("completed", await S.StatusAsync(d.Id));
        Assert.Equal(500, await S.BalanceAsync(d.UserId));
    }

    [Fact]
    public async Task ASimulatedResultAfterAQueryCreditedThePaymentFlagsItForReview()
    {
        var d = await S.SeedDepositAsync(520);
        await S.EnqueueAsync(PaymentResultSource.QueryTradeInfo, SignedEcpayPost.QueryTradeInfo(d.MerchantTradeNo, 520));
        await S.WaitForQueueDrainedAsync();
        Assert.Equal("completed", await S.StatusAsync(d.Id));

        await PostReturnAsync(SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 520, simulatePaid: "1"));
        Assert.Equal("completed", await S.StatusAsync(d.Id));
        Assert.Equal(520, await S.BalanceAsync(d.UserId));
        Assert.Equal(1, await S.EventsAsync(d.MerchantTradeNo, "simulated"));
        Assert.Equal("simulated result after completion: check the credit was a real payment", await ReviewReasonAsync(d));
    }

    [Fact]
    public async Task APaidBodyPostedToPaymentInfoUrlIsAWrongEndpointAndDoesNotFailThePayment()
    {
        var d = await S.SeedDepositAsync(500);
        // e.g. a browser's OrderResultURL body
        await RefusedByNotificationsThenQueuedAsync("/ecpay/payment-info", PaymentResultSource.PaymentInfoUrl, SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 500));

        Assert.Equal("pending", await S.StatusAsync(d.Id));
        Assert.Null(await S.ColumnAsync(d.Id, "rtn_code"));
        Assert.Equal(0, await S.BalanceAsync(d.UserId));
        Assert.Equal("wrong endpoint: a paid result (RtnCode 1) posted to PaymentInfoURL; not applied", await EventReasonAsync(d, "rejected"));
        Assert.Equal("paid result posted to PaymentInfoURL, not credited: check ECPay", await ReviewReasonAsync(d));
        Assert.Contains(AttentionLogs(d), l => l["Outcome"] == "rejected");

        // The genuine ReturnURL post of the same result settles it.
        await PostReturnAsync(SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 500));
        Assert.Equal("completed", await S.StatusAsync(d.Id));
        Assert.Equal(500, await S.BalanceAsync(d.UserId));
    }

    [Fact]
    public async Task ANumberIssuedBodyPostedToReturnUrlIsAWrongEndpointAndDoesNotFailThePayment()
    {
        var atm = await S.SeedDepositAsync(1200);
        await RefusedByNotificationsThenQueuedAsync("/ecpay/return", PaymentResultSource.ReturnUrl, SignedEcpayPost.AtmIssued(atm.MerchantTradeNo, 1200));
        var cvs = await S.SeedDepositAsync(800);
        await RefusedByNotificationsThenQueuedAsync("/ecpay/return", PaymentResultSource.ReturnUrl, SignedEcpayPost.CvsIssued(cvs.MerchantTradeNo, 800));

        foreach (var (d, code) in new[] { (atm, "2"), (cvs, "10100073") })
        {
            Assert.Equal("pending", await S.StatusAsync(d.Id));
            Assert.Null(await S.ColumnAsync(d.Id, "rtn_code"));
            Assert.Null(await S.ColumnAsync(d.Id, "bank_code"));
            Assert.Null(await S.ColumnAsync(d.Id, "payment_no"));
            Assert.Equal($"wrong endpoint: a number-issued result (RtnCode {code}) posted to ReturnURL; not applied", await EventReasonAsync(d, "rejected"));
            Assert.Null(await ReviewReasonAsync(d));
        }
    }

    [Fact]
    public async Task APaidResultWithDatesWithoutSecondsIsCredited()
    {
        var d = await S.SeedDepositAsync(700);
        var fields = SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 700);
        fields["TradeDate"] = "2026/11/25 11:59";
        fields["PaymentDate"] = "2026/11/25 12:00";
        await PostReturnAsync(SignedEcpayPost.Sign(fields));

        Assert.Equal("completed", await S.StatusAsync(d.Id));
        Assert.Equal(700, await S.BalanceAsync(d.UserId));
        Assert.Equal("2026-11-25 04:00:00.000000", await S.ColumnAsync(d.Id, "paid_at"));
        Assert.Equal(1, await S.EventsAsync(d.MerchantTradeNo, "credited"));
    }

    [Fact]
    public async Task APaidResultWithAnUnreadablePaymentDateIsNotCreditedButFlaggedForReview()
    {
        // Not a date ECPay sends: refused (the payment's timeout asks ECPay, which credits a genuine payment then).
        var d = await S.SeedDepositAsync(710);
        var fields = SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 710);
        fields["PaymentDate"] = "25.11.2026 noon";
        await RefusedByNotificationsThenQueuedAsync("/ecpay/return", PaymentResultSource.ReturnUrl, SignedEcpayPost.Sign(fields));

        Assert.Equal("pending", await S.StatusAsync(d.Id));
        Assert.Equal(0, await S.BalanceAsync(d.UserId));
        Assert.Equal("malformed ReturnURL: PaymentDate is not empty or a date and time (yyyy/MM/dd HH:mm:ss).", await EventReasonAsync(d, "rejected"));
        Assert.StartsWith("paid result could not be read: PaymentDate", await ReviewReasonAsync(d));
    }

    [Fact]
    public async Task ASignedResultWithAFieldEcpayDoesNotSendIsRecordedForAnOperatorNotCredited()
    {
        var d = await S.SeedDepositAsync(730);
        var fields = SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 730);
        fields["ItemName"] = "points"; // a checkout field, never in a ReturnURL post
        await RefusedByNotificationsThenQueuedAsync("/ecpay/return", PaymentResultSource.ReturnUrl, SignedEcpayPost.Sign(fields));

        Assert.Equal("pending", await S.StatusAsync(d.Id));
        Assert.Equal(0, await S.LedgerEntriesAsync(d.Id));
        Assert.Equal("malformed ReturnURL: unexpected field 'ItemName' (not one ECPay sends to ReturnURL).", await EventReasonAsync(d, "rejected"));
        Assert.StartsWith("paid result could not be read: unexpected field 'ItemName'", await ReviewReasonAsync(d));
        Assert.Contains(S.Logs.WithEventId(4001), l => l["MerchantTradeNo"] == d.MerchantTradeNo && l["Reason"]!.Contains("unexpected field 'ItemName'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AVerifiedPaidResultThatCannotBeReadIsRejectedAndFlaggedForReview()
    {
        var d = await S.SeedDepositAsync(500);
        var fields = SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 500);
        fields["TradeAmt"] = "500.00";
        await RefusedByNotificationsThenQueuedAsync("/ecpay/return", PaymentResultSource.ReturnUrl, SignedEcpayPost.Sign(fields));

        Assert.Equal("pending", await S.StatusAsync(d.Id));
        Assert.Equal(0, await S.BalanceAsync(d.UserId));
        Assert.StartsWith("malformed ReturnURL: TradeAmt", await EventReasonAsync(d, "rejected"));
        Assert.StartsWith("paid result could not be read: TradeAmt", await ReviewReasonAsync(d));
    }

    [Fact]
    public async Task APaidResultWithTheWrongAmountIsFlaggedAndLoggedForAnOperator()
    {
        var d = await S.SeedDepositAsync(500);
        await PostReturnAsync(SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 5));

        Assert.Equal("pending", await S.StatusAsync(d.Id));
        Assert.Equal("paid result rejected: TradeAmt 5 <> amount 500", await ReviewReasonAsync(d));
        var line = Assert.Single(AttentionLogs(d));
        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.Equal("rejected", line["Outcome"]);
        Assert.Equal(PaymentResultSource.ReturnUrl, line["Source"]);
        Assert.Equal("amount mismatch: TradeAmt 5, transaction amount 500", line["Reason"]);
        Assert.Equal(d.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), line["TransactionId"]);
        Assert.StartsWith("Operator attention:", line.Message);
    }

    [Fact]
    public async Task AFailedPaymentPaidLaterIsCreditedLateAndFlagged()
    {
        var d = await S.SeedDepositAsync(450);
        await PostReturnAsync(SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 450, rtnCode: "10100058", rtnMsg: "付款失敗"));
        Assert.Equal("failed", await S.StatusAsync(d.Id));

        await PostReturnAsync(SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 450));
        Assert.Equal("completed", await S.StatusAsync(d.Id));
        Assert.Equal(450, await S.BalanceAsync(d.UserId));
        Assert.Equal(1, await S.LedgerEntriesAsync(d.Id));
        Assert.Equal("paid after failure", await ReviewReasonAsync(d));
        Assert.Equal(1, await S.EventsAsync(d.MerchantTradeNo, "credited_late"));
        Assert.Contains(AttentionLogs(d), l => l["Outcome"] == "credited_late");
    }

    [Fact]
    public async Task APaymentInfoWithTheWrongAmountIsRejectedAndStoresNothing()
    {
        var d = await S.SeedDepositAsync(1200);
        await PostPaymentInfoAsync(SignedEcpayPost.AtmIssued(d.MerchantTradeNo, 1000));

        Assert.Equal("pending", await S.StatusAsync(d.Id));
        Assert.Null(await S.ColumnAsync(d.Id, "bank_code"));
        Assert.Null(await S.ColumnAsync(d.Id, "v_account"));
        Assert.Equal("amount mismatch: TradeAmt 1000, transaction amount 1200", await EventReasonAsync(d, "rejected"));
    }

    [Fact]
    public async Task ABarcodeNumberIsStored()
    {
        var d = await S.SeedDepositAsync(300);
        await PostPaymentInfoAsync(SignedEcpayPost.BarcodeIssued(d.MerchantTradeNo, 300));

        Assert.Equal("pending", await S.StatusAsync(d.Id));
        Assert.Null(await S.ColumnAsync(d.Id, "payment_no"));
        Assert.Equal("261202617", await S.ColumnAsync(d.Id, "barcode1"));
        Assert.Equal("1234567890123456", await S.ColumnAsync(d.Id, "barcode2"));
        Assert.Equal("120100000000300", await S.ColumnAsync(d.Id, "barcode3"));
        Assert.Equal("2026-12-02 15:59:59.000000", await S.ColumnAsync(d.Id, "expires_at"));
        Assert.Equal(1, await S.EventsAsync(d.MerchantTradeNo, "number_issued"));
    }

    [Fact]
    public async Task APaymentInfoWithANonNumericTradeAmtIsRejected()
    {
        var d = await S.SeedDepositAsync(1200);
        var fields = SignedEcpayPost.AtmIssued(d.MerchantTradeNo, 1200);
        fields["TradeAmt"] = "1,200";
        await RefusedByNotificationsThenQueuedAsync("/ecpay/payment-info", PaymentResultSource.PaymentInfoUrl, SignedEcpayPost.Sign(fields));

        Assert.Equal("pending", await S.StatusAsync(d.Id));
        Assert.Null(await S.ColumnAsync(d.Id, "bank_code"));
        Assert.StartsWith("malformed PaymentInfoURL: TradeAmt", await EventReasonAsync(d, "rejected"));
        Assert.Null(await ReviewReasonAsync(d)); // not a payment: nothing to review
    }

    [Fact]
    public async Task ALargeMessageWhoseJsonExceeds64KbIsRecordedClipped()
    {
        // Notifications refuses a CustomField4 over ECPay's 50 bytes; a message on the queue is still recorded, its raw fields clipped.
        var d = await S.SeedDepositAsync(500);
        var fields = SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 500);
        fields["CustomField4"] = new string('\'', 15_000); // 6 bytes (\u0027) each in the stored JSON
        var body = EcpayForm.ToFormBody(SignedEcpayPost.Sign(fields)).Replace("%27", "'", StringComparison.Ordinal);
        Assert.True(body.Length < 16 * 1024);
        var (status, answer, _) = await S.PostAsync("/ecpay/return", body);
        Assert.Equal(("0|unexpected fields", System.Net.HttpStatusCode.BadRequest), (answer, status));
        await S.EnqueueAsync(PaymentResultSource.ReturnUrl, fields);
        await S.WaitForQueueDrainedAsync();

        Assert.Equal("pending", await S.StatusAsync(d.Id));
        Assert.StartsWith("malformed ReturnURL: CustomField4 is not text", await EventReasonAsync(d, "rejected"));
        Assert.InRange(await S.Db.ScalarAsync<long>("SELECT LENGTH(raw_fields) FROM payment_events WHERE merchant_trade_no = @m", ("@m", d.MerchantTradeNo)), 1, 4096);
    }

    [Fact]
    public async Task TimestampsSettlementWritesAreUtc()
    {
        var d = await S.SeedDepositAsync(500);
        await PostReturnAsync(SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 500));

        var now = DateTime.UtcNow;
        foreach (var sql in new[]
        {
            "SELECT updated_at FROM transactions WHERE id = @id",
            "SELECT created_at FROM ledger_entries WHERE transaction_id = @id",
            "SELECT recorded_at FROM payment_events WHERE transaction_id = @id",
        })
            Assert.InRange(await S.Db.ScalarAsync<DateTime>(sql, ("@id", d.Id)), now.AddMinutes(-2), now.AddSeconds(5));
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
        await s.PostAcknowledgedAsync("/ecpay/return", SignedEcpayPost.ReturnUrl(d.MerchantTradeNo, 500, simulatePaid: "1"));
        await s.WaitForQueueDrainedAsync();

        Assert.Equal("completed", await s.StatusAsync(d.Id));
        Assert.Equal(500, await s.BalanceAsync(d.UserId));
        await s.Db.AssertLedgerInvariantAsync();
    }
}
