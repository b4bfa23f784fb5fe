using EcpayEvents.Ecpay;
using EcpayEvents.Messaging.StepFunctions;
using EcpayEvents.Payments.Timeouts;

namespace EcpayEvents.Timeouts.Tests;

/// <summary>The reconcile decision table, as a pure function.</summary>
public sealed class ReconcileRulesTests
{
    private static readonly DateTimeOffset Deadline = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Now = Deadline.AddMilliseconds(30);
    private static readonly PaymentTimeoutInput Input = new(7, "EE123", Deadline);

    private static TimedTransaction Pending(DateTimeOffset? expiresAt = null, long amount = 500) =>
        new(7, "deposit", amount, "pending", "EE123", expiresAt ?? Deadline.AddTicks(4560)); // the ledger keeps microseconds

    private static QueryTradeInfoResult Answer(string tradeStatus, long amount = 500)
    {
        var fields = new List<KeyValuePair<string, string>>
        {
            new("MerchantID", "3002607"), new("MerchantTradeNo", "EE123"), new("TradeNo", tradeStatus == "1" ? "2501010000000001" : ""),
            new("TradeAmt", amount.ToString(System.Globalization.CultureInfo.InvariantCulture)), new("TradeStatus", tradeStatus),
        };
        fields.Add(new(CheckMacValue.FieldName, CheckMacValue.Compute(fields, EcpayCredentials.Stage.HashKey, EcpayCredentials.Stage.HashIv)));
        return new QueryTradeInfoResult.Answered(TradeInfo.FromVerifiedFields(EcpayForm.FromFields(fields)));
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
        Assert.Equal(new ReconcileAnswer(ReconcileOutcome.Extend, later), d.Result);
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
}
