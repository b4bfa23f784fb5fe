using EcpayEvents.Ecpay;
using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Payments.Timeouts;
using EcpayEvents.Testing;

namespace EcpayEvents.Timeouts.Tests;

/// <summary>The reconcile decision table, as a pure function.</summary>
public sealed class ReconcileRulesTests
{
    private static readonly DateTimeOffset Deadline = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Now = Deadline.AddMilliseconds(30);
    private static readonly PaymentTimeoutInput Input = new(7, "EE123", Deadline);

    /// <summary>An extension as the state machine needs it: the same payment (Input's), waiting until <paramref name="at"/>.</summary>
    private static ReconcileAnswer ExtendedTo(DateTimeOffset at) => new(ReconcileOutcome.Extend, at, new PaymentTimeoutInput(7, "EE123", at));

    private static TimedTransaction Pending(DateTimeOffset? expiresAt = null, long amount = 500) =>
        new(7, "deposit", amount, "pending", "EE123", expiresAt ?? Deadline.AddTicks(4560)); // the ledger keeps microseconds

    private static QueryTradeInfoResult Answer(string tradeStatus, long amount = 500)
    {
        var fields = new List<KeyValuePair<string, string>>
        {
            new("MerchantID", "3002607"), new("MerchantTradeNo", "EE123"), new("TradeNo", tradeStatus == "1" ? "2501010000000001" : ""),
            new("TradeAmt", amount.ToString(System.Globalization.CultureInfo.InvariantCulture)), new("TradeStatus", tradeStatus),
        };
        fields = SignedEcpayPost.Sign(fields);
        return new QueryTradeInfoResult.Answered(PaymentResult.Parse(EcpayPostKind.QueryTradeInfo, EcpayForm.FromFields(fields)));
    }

    private static string? OutcomeOf(ReconcileDecision d) => (d as ReconcileDecision.Answer)?.Result.Outcome;

    [Theory]
    [InlineData("completed")]
    [InlineData("failed")]
    [InlineData("expired")]
    public void AFinalTransactionIsSettledWithoutAskingEcpay(string status) =>
        Assert.Equal(ReconcileOutcome.Settled, OutcomeOf(ReconcileRules.Decide(Input, Pending() with { Status = status }, null, Now)));

    [Fact]
    public void APendingTransactionAsksEcpay() =>
        Assert.IsType<ReconcileDecision.AskEcpay>(ReconcileRules.Decide(Input, Pending(), null, Now));

    [Fact]
    public void AMissingTransactionBeforeTheDeadlineIsAnErrorSoItIsRetried() =>
        Assert.Equal(ReconcileErrors.TransactionNotFound, Assert.IsType<ReconcileDecision.Fail>(ReconcileRules.Decide(Input, null, null, Deadline.AddMinutes(-1))).ErrorType);

    [Fact]
    public void AMissingTransactionPastTheDeadlineAsksEcpay() =>
        Assert.IsType<ReconcileDecision.AskEcpay>(ReconcileRules.Decide(Input, null, null, Now));

    [Theory]
    [InlineData("10200047")] // ECPay never saw the order
    [InlineData("10200095")] // nor a payment method
    public void AMissingTransactionEcpayNeverSawAPaymentForIsAbandoned(string tradeStatus)
    {
        var answer = Assert.IsType<ReconcileDecision.Answer>(ReconcileRules.Decide(Input, null, Answer(tradeStatus, amount: 0), Now));
        Assert.Equal(new ReconcileAnswer(ReconcileOutcome.Abandoned), answer.Result);
        Assert.Contains("rolled back", answer.Why);
    }

    [Theory]
    [InlineData("1")]        // paid: money for an order the ledger does not have
    [InlineData("0")]        // ECPay knows the order: a number may still be paid
    [InlineData("10200999")] // unknown
    public void AMissingTransactionEcpayKnowsIsAnErrorForAnOperator(string tradeStatus)
    {
        var fail = Assert.IsType<ReconcileDecision.Fail>(ReconcileRules.Decide(Input, null, Answer(tradeStatus), Now));
        Assert.Equal(ReconcileErrors.TransactionNotFound, fail.ErrorType);
        Assert.Contains("ECPay knows the order", fail.Message);
    }

    [Theory]
    [MemberData(nameof(Failures), DisableDiscoveryEnumeration = true)]
    public void AMissingTransactionAndNoUsableAnswerIsRetried(QueryTradeInfoResult result, string errorType) =>
        Assert.Equal(errorType, Assert.IsType<ReconcileDecision.Fail>(ReconcileRules.Decide(Input, null, result, Now)).ErrorType);

    [Fact]
    public void AnotherPaymentsTransactionIsAnError() =>
        Assert.Equal(ReconcileErrors.TransactionMismatch,
            Assert.IsType<ReconcileDecision.Fail>(ReconcileRules.Decide(Input, Pending() with { MerchantTradeNo = "EE999" }, null, Now)).ErrorType);

    [Fact]
    public void PaidIsEnqueuedEvenWhenTheDeadlineMoved()
    {
        var d = ReconcileRules.Decide(Input, Pending(Deadline.AddDays(3)), Answer("1"), Now);
        Assert.Equal("2501010000000001", Assert.IsType<ReconcileDecision.EnqueuePaid>(d).Trade.TradeNo);
    }

    [Fact]
    public void PaidWithAnotherAmountIsAnErrorNotACredit() =>
        Assert.Equal(ReconcileErrors.AmountMismatch, Assert.IsType<ReconcileDecision.Fail>(ReconcileRules.Decide(Input, Pending(), Answer("1", amount: 50), Now)).ErrorType);

    [Theory]
    [InlineData("0")]
    [InlineData("10200095")]
    [InlineData("10200047")]
    public void NotPaidPastTheDeadlineExpires(string tradeStatus) =>
        Assert.IsType<ReconcileDecision.Expire>(ReconcileRules.Decide(Input, Pending(), Answer(tradeStatus), Now));

    [Fact]
    public void NotPaidWellBeforeTheDeadlineIsAnError() =>
        Assert.Equal(ReconcileErrors.NotYetExpired, Assert.IsType<ReconcileDecision.Fail>(ReconcileRules.Decide(Input, Pending(), Answer("0"), Deadline.AddMinutes(-1))).ErrorType);

    [Fact]
    public void AnUnknownTradeStatusIsNeverPaidAndNeverFinal() =>
        Assert.Equal(ReconcileErrors.UnknownTradeStatus, Assert.IsType<ReconcileDecision.Fail>(ReconcileRules.Decide(Input, Pending(), Answer("10200999"), Now)).ErrorType);

    [Fact]
    public void ALaterDeadlineExtends()
    {
        var later = Deadline.AddDays(3);
        var d = Assert.IsType<ReconcileDecision.Answer>(ReconcileRules.Decide(Input, Pending(later), Answer("0"), Now));
        Assert.Equal(ExtendedTo(later), d.Result);
    }

    [Fact]
    public void ALaterDeadlineExtendsEvenWhenEcpayCannotBeReached() =>
        Assert.Equal(ReconcileOutcome.Extend, OutcomeOf(ReconcileRules.Decide(Input, Pending(Deadline.AddDays(3)), new QueryTradeInfoResult.TransportFailed("refused"), Now)));

    [Fact]
    public void AMillisecondRoundingDifferenceIsNotAnExtension() =>
        Assert.IsType<ReconcileDecision.Expire>(ReconcileRules.Decide(Input, Pending(Deadline.AddTicks(9990)), Answer("0"), Now));

    public static TheoryData<QueryTradeInfoResult, string> Failures => new()
    {
        { new QueryTradeInfoResult.TransportFailed("connection refused"), ReconcileErrors.EcpayUnavailable },
        { new QueryTradeInfoResult.TimedOut("5 s"), ReconcileErrors.EcpayUnavailable },
        { new QueryTradeInfoResult.HttpFailed(502, "bad gateway"), ReconcileErrors.EcpayUnavailable },
        { new QueryTradeInfoResult.Throttled("403"), ReconcileErrors.EcpayThrottled },
        { new QueryTradeInfoResult.MacMismatch("body", "AA", "BB"), ReconcileErrors.EcpayBadAnswer },
        { new QueryTradeInfoResult.EcpayError("CheckMacValue Error", null), ReconcileErrors.EcpayBadAnswer },
        { new QueryTradeInfoResult.Malformed("other order", "body"), ReconcileErrors.EcpayBadAnswer },
    };

    [Theory]
    [MemberData(nameof(Failures), DisableDiscoveryEnumeration = true)]
    public void NoUsableAnswerIsAnErrorSoTheStateMachineRetries(QueryTradeInfoResult result, string errorType) =>
        Assert.Equal(errorType, Assert.IsType<ReconcileDecision.Fail>(ReconcileRules.Decide(Input, Pending(), result, Now)).ErrorType);

    // ---------------------------------------------------------------- confirming a completed deposit's credit

    private static readonly CreditConfirmation Confirming = new(true, TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(40));

    /// <summary>Completed by a ReturnURL for TradeNo 2501010000000001, credited <paramref name="creditedAgo"/> before <see cref="Now"/>.</summary>
    private static TimedTransaction Completed(TimeSpan creditedAgo, bool simulated = false, RecordedPaidAnswer[]? recorded = null, DateTimeOffset? confirmedAt = null) =>
        Pending() with
        {
            Status = "completed",
            Credit = new CreditEvidence(Now - creditedAgo, "2501010000000001", confirmedAt, simulated, recorded ?? []),
        };

    private static QueryTradeInfoResult PaidAnswer(long amount = 500, string tradeNo = "2501010000000001")
    {
        var fields = new List<KeyValuePair<string, string>>
        {
            new("MerchantID", "3002607"), new("MerchantTradeNo", "EE123"), new("TradeNo", tradeNo),
            new("TradeAmt", amount.ToString(System.Globalization.CultureInfo.InvariantCulture)), new("TradeStatus", "1"),
        };
        fields = SignedEcpayPost.Sign(fields);
        return new QueryTradeInfoResult.Answered(PaymentResult.Parse(EcpayPostKind.QueryTradeInfo, EcpayForm.FromFields(fields)));
    }

    [Fact]
    public void ACompletedDepositIsOnlySettledForAnExecutionThatDoesNotAskForConfirmation() =>
        Assert.Equal(ReconcileOutcome.Settled, OutcomeOf(ReconcileRules.Decide(Input, Completed(TimeSpan.FromHours(1)), null, Now, CreditConfirmation.Off)));

    [Fact]
    public void ACompletedDepositCreditedLongEnoughAgoAsksEcpay() =>
        Assert.IsType<ReconcileDecision.AskEcpay>(ReconcileRules.Decide(Input, Completed(TimeSpan.FromMinutes(11)), null, Now, Confirming));

    [Fact]
    public void ACreditTooRecentToAskAboutWaitsUntilTenMinutesAfterIt()
    {
        var d = Assert.IsType<ReconcileDecision.Answer>(ReconcileRules.Decide(Input, Completed(TimeSpan.FromMinutes(2)), null, Now, Confirming));
        Assert.Equal(ExtendedTo(Now + TimeSpan.FromMinutes(8)), d.Result);
    }

    [Fact]
    public void PaidWithTheSameAmountAndTradeNoConfirms() =>
        Assert.IsType<ReconcileDecision.Confirm>(ReconcileRules.Decide(Input, Completed(TimeSpan.FromMinutes(11)), PaidAnswer(), Now, Confirming));

    [Theory]
    [InlineData(499, "2501010000000001")] // another amount
    [InlineData(500, "2501019999999999")] // another ECPay trade
    [InlineData(500, "")]                 // no trade number
    public void PaidForSomethingElseIsFlagged(long amount, string tradeNo)
    {
        var flag = Assert.IsType<ReconcileDecision.FlagUnconfirmed>(ReconcileRules.Decide(Input, Completed(TimeSpan.FromMinutes(11)), PaidAnswer(amount, tradeNo), Now, Confirming));
        Assert.StartsWith("credit not confirmed: QueryTradeInfo says paid", flag.ReviewReason);
        Assert.True(flag.ReviewReason.Length <= 200);
    }

    [Theory]
    [InlineData("10200047")] // ECPay does not know the order
    [InlineData("10200095")] // never chose a payment method
    [InlineData("10200999")] // unknown
    public void NotPaidIsFlaggedAtOnce(string tradeStatus) =>
        Assert.Contains($"TradeStatus {tradeStatus}",
            Assert.IsType<ReconcileDecision.FlagUnconfirmed>(ReconcileRules.Decide(Input, Completed(TimeSpan.FromMinutes(11)), Answer(tradeStatus, 0), Now, Confirming)).ReviewReason);

    [Fact]
    public void UnpaidSoonAfterTheCreditIsAskedAgainFortyMinutesAfterIt()
    {
        // ECPay: TradeStatus 0 may mean the bank has not answered yet.
        var d = Assert.IsType<ReconcileDecision.Answer>(ReconcileRules.Decide(Input, Completed(TimeSpan.FromMinutes(11)), Answer("0"), Now, Confirming));
        Assert.Equal(ExtendedTo(Now + TimeSpan.FromMinutes(29)), d.Result);
    }

    [Fact]
    public void UnpaidFortyMinutesAfterTheCreditIsFlagged() =>
        Assert.Contains("TradeStatus 0",
            Assert.IsType<ReconcileDecision.FlagUnconfirmed>(ReconcileRules.Decide(Input, Completed(TimeSpan.FromMinutes(41)), Answer("0"), Now, Confirming)).ReviewReason);

    [Theory]
    [MemberData(nameof(Failures), DisableDiscoveryEnumeration = true)]
    public void NoUsableAnswerAboutACreditIsRetriedNotFlagged(QueryTradeInfoResult result, string errorType) =>
        Assert.Equal(errorType, Assert.IsType<ReconcileDecision.Fail>(ReconcileRules.Decide(Input, Completed(TimeSpan.FromMinutes(11)), result, Now, Confirming)).ErrorType);

    [Fact]
    public void ARecordedPaidQueryAnswerConfirmsWithoutAskingAgain() =>
        Assert.IsType<ReconcileDecision.Confirm>(ReconcileRules.Decide(Input,
            Completed(TimeSpan.FromSeconds(5), recorded: [new RecordedPaidAnswer("2501010000000001", 500)]), null, Now, Confirming));

    [Fact]
    public void ARecordedPaidQueryAnswerForAnotherAmountDoesNotConfirm() =>
        Assert.IsType<ReconcileDecision.AskEcpay>(ReconcileRules.Decide(Input,
            Completed(TimeSpan.FromMinutes(11), recorded: [new RecordedPaidAnswer("2501010000000001", 499)]), null, Now, Confirming));

    [Fact]
    public void AnAlreadyConfirmedCreditIsNotAskedAgain() =>
        Assert.Equal(ReconcileOutcome.Confirmed, OutcomeOf(ReconcileRules.Decide(Input, Completed(TimeSpan.FromHours(1), confirmedAt: Now.AddMinutes(-1)), null, Now, Confirming)));

    [Fact]
    public void ACreditAfterASimulatedResultIsFlaggedWithoutAsking()
    {
        // QueryTradeInfo carries no SimulatePaid: its "paid" cannot tell a back-office simulation from money.
        var flag = Assert.IsType<ReconcileDecision.FlagUnconfirmed>(ReconcileRules.Decide(Input, Completed(TimeSpan.FromHours(1), simulated: true), null, Now, Confirming));
        Assert.Contains("SimulatePaid=1", flag.ReviewReason);
    }

    // ECPay answers errors without CheckMacValue (查詢訂單 ?p=2890); an unsigned "not found" expires, never credits.
    private static readonly QueryTradeInfoResult UnsignedNotFound =
        QueryTradeInfoClient.Interpret("TradeStatus=10200047&RtnMsg=Cant not find the trade data.", "EE123", EcpayCredentials.Stage);

    [Fact]
    public void AnUnsignedNotFoundExpiresAPendingDepositAndEndsARolledBackOnesTimer()
    {
        Assert.IsType<QueryTradeInfoResult.EcpayError>(UnsignedNotFound);
        Assert.Contains("unsigned", Assert.IsType<ReconcileDecision.Expire>(ReconcileRules.Decide(Input, Pending(), UnsignedNotFound, Now)).Why);
        Assert.Equal(ReconcileOutcome.Abandoned, OutcomeOf(ReconcileRules.Decide(Input, null, UnsignedNotFound, Now)));
    }

    [Fact]
    public void AnUnsignedNotFoundNeitherConfirmsNorFlagsACredit() =>
        Assert.Equal(ReconcileErrors.EcpayBadAnswer, Assert.IsType<ReconcileDecision.Fail>(ReconcileRules.Decide(
            Input, Pending() with { Status = "completed" }, UnsignedNotFound, Now.AddHours(1), CreditConfirmation.Off with { Enabled = true })).ErrorType);

    [Theory]
    [InlineData("BARCODE_BARCODE", 2 * 24)]
    [InlineData("ATM_TAISHIN", 24)]
    [InlineData("CVS_CVS", 24)]
    [InlineData("BNPL_URICH", 3 * 24)]
    public void APaymentUnderWayWaitsItsReportingLagOnceBeforeExpiring(string paymentType, int hours)
    {
        var deposit = Pending(Deadline) with { PaymentType = paymentType };
        var extended = Assert.IsType<ReconcileDecision.Answer>(ReconcileRules.Decide(Input, deposit, Answer("0", 0), Now, lag: ReportingLag.Default));
        Assert.Equal(ExtendedTo(Deadline.AddHours(hours)), extended.Result);
        // At the end of the lag: expired.
        var later = Input with { ExpiresAt = Deadline.AddHours(hours) };
        Assert.IsType<ReconcileDecision.Expire>(ReconcileRules.Decide(later, deposit, Answer("0", 0), Deadline.AddHours(hours).AddSeconds(1), lag: ReportingLag.Default));
    }

    [Fact]
    public void ACardWithNothingUnderWayExpiresAtItsDeadline() =>
        Assert.IsType<ReconcileDecision.Expire>(ReconcileRules.Decide(Input, Pending(Deadline) with { PaymentType = "Credit_CreditCard" }, Answer("0", 0), Now, lag: ReportingLag.Default));
}
