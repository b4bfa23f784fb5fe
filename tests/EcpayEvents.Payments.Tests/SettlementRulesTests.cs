using EcpayEvents.Payments.Settlement;

namespace EcpayEvents.Payments.Tests;

/// <summary>
/// Every combination of transaction status × what the notice says (by source) × SimulatePaid ×
/// amount match × AllowSimulatedPayments, checked against the rules stated as a table, plus the
/// guards (MAC, merchant, unknown transaction, not a deposit) and the invariants that matter most.
/// </summary>
public sealed class SettlementRulesTests
{
    private const string Ours = "3002607";
    private const long Amount = 500;
    private static readonly SettlementPolicy Strict = new(Ours);

    // What each source can say.
    private static readonly (string Source, NoticeKind Kind, int Code)[] Notices =
    [
        (PaymentResultSource.ReturnUrl, NoticeKind.Paid, 1),
        (PaymentResultSource.ReturnUrl, NoticeKind.NotPaid, 10100058),
        (PaymentResultSource.PaymentInfoUrl, NoticeKind.NumberIssued, 2),
        (PaymentResultSource.PaymentInfoUrl, NoticeKind.NumberIssued, 10100073),
        (PaymentResultSource.PaymentInfoUrl, NoticeKind.IssueFailed, 10100050),
        (PaymentResultSource.QueryTradeInfo, NoticeKind.Paid, 1),
        (PaymentResultSource.QueryTradeInfo, NoticeKind.NotPaid, 10200095),
        (PaymentResultSource.QueryTradeInfo, NoticeKind.NotYetPaid, 0),
        // Signed bodies posted to the other URL.
        (PaymentResultSource.ReturnUrl, NoticeKind.WrongEndpoint, 2),
        (PaymentResultSource.ReturnUrl, NoticeKind.WrongEndpoint, 10100073),
        (PaymentResultSource.PaymentInfoUrl, NoticeKind.WrongEndpoint, 1),
    ];

    public static TheoryData<string, NoticeKind, int, TransactionStatus, bool, bool, bool, bool> AllCombinations()
    {
        var data = new TheoryData<string, NoticeKind, int, TransactionStatus, bool, bool, bool, bool>();
        foreach (var (source, kind, code) in Notices)
            foreach (var status in Enum.GetValues<TransactionStatus>())
                foreach (var simulated in new[] { false, true })
                    foreach (var amountMatches in new[] { true, false })
                        foreach (var allowSimulated in new[] { false, true })
                            foreach (var simulatedSeen in new[] { false, true })
                                data.Add(source, kind, code, status, simulated, amountMatches, allowSimulated, simulatedSeen);
        return data;
    }

    [Theory]
    [MemberData(nameof(AllCombinations))]
    public void DecisionFollowsTheRulesTable(string source, NoticeKind kind, int code, TransactionStatus status, bool simulated, bool amountMatches, bool allowSimulated, bool simulatedSeen)
    {
        var notice = Notice(source, kind, code, amountMatches ? Amount : Amount + 1, simulated);
        var decision = SettlementRules.Decide(notice, macVerified: true, Deposit(status, simulatedSeen), new SettlementPolicy(Ours, allowSimulated));

        var simulatedAndNotAllowed = simulated && !allowSimulated;
        var queryAfterSimulation = source == PaymentResultSource.QueryTradeInfo && simulatedSeen && !allowSimulated;
        var (action, outcome) = Expected(kind, status, simulatedAndNotAllowed, amountMatches, queryAfterSimulation);
        Assert.Equal(action, decision.Action);
        Assert.Equal(outcome, decision.Outcome);
        if (decision.Outcome == SettlementOutcome.Rejected)
            Assert.Contains(kind == NoticeKind.WrongEndpoint ? "wrong endpoint" : amountMatches ? "SimulatePaid=1" : "amount mismatch", decision.Reason);
        // Flagged for an operator: money that arrived late, and every paid result that is not credited.
        var paidButRejected = (kind == NoticeKind.Paid && outcome == SettlementOutcome.Rejected) || (kind == NoticeKind.WrongEndpoint && code == 1);
        var simulatedAfterCompletion = outcome == SettlementOutcome.Simulated && kind == NoticeKind.Paid && status == TransactionStatus.Completed;
        Assert.Equal(status is TransactionStatus.Expired or TransactionStatus.Failed && action == SettlementAction.Complete || paidButRejected || simulatedAfterCompletion,
            decision.ReviewReason is not null);
        if (outcome is SettlementOutcome.Simulated or SettlementOutcome.Rejected) Assert.True(decision.NeedsAttention);
    }

    // The rules, written as a table rather than as code paths.
    private static (SettlementAction, string) Expected(NoticeKind kind, TransactionStatus status, bool simulatedAndNotAllowed, bool amountMatches, bool queryAfterSimulation)
    {
        if (kind == NoticeKind.WrongEndpoint) return (SettlementAction.None, SettlementOutcome.Rejected);
        if (simulatedAndNotAllowed) return (SettlementAction.None, SettlementOutcome.Simulated);
        if (kind is NoticeKind.Paid or NoticeKind.NumberIssued && !amountMatches) return (SettlementAction.None, SettlementOutcome.Rejected);
        if (kind == NoticeKind.Paid && queryAfterSimulation && status != TransactionStatus.Completed) return (SettlementAction.None, SettlementOutcome.Rejected);
        return (kind, status) switch
        {
            (NoticeKind.Paid, TransactionStatus.Pending) => (SettlementAction.Complete, SettlementOutcome.Credited),
            (NoticeKind.Paid, TransactionStatus.Completed) => (SettlementAction.None, SettlementOutcome.AlreadyCompleted),
            (NoticeKind.Paid, TransactionStatus.Expired) => (SettlementAction.Complete, SettlementOutcome.CreditedLate),
            (NoticeKind.Paid, TransactionStatus.Failed) => (SettlementAction.Complete, SettlementOutcome.CreditedLate),
            (NoticeKind.NotPaid or NoticeKind.IssueFailed, TransactionStatus.Pending) => (SettlementAction.Fail, SettlementOutcome.Failed),
            (NoticeKind.NotPaid or NoticeKind.IssueFailed, _) => (SettlementAction.None, SettlementOutcome.Ignored),
            (NoticeKind.NumberIssued, TransactionStatus.Pending) => (SettlementAction.RecordPaymentNumber, SettlementOutcome.NumberIssued),
            (NoticeKind.NumberIssued, _) => (SettlementAction.None, SettlementOutcome.Ignored),
            (NoticeKind.NotYetPaid, _) => (SettlementAction.None, SettlementOutcome.Ignored),
            _ => throw new InvalidOperationException("table incomplete"),
        };
    }

    [Theory]
    [MemberData(nameof(AllCombinations))]
    public void ACompletedPaymentIsNeverChanged(string source, NoticeKind kind, int code, TransactionStatus status, bool simulated, bool amountMatches, bool allowSimulated, bool simulatedSeen)
    {
        _ = status;
        _ = simulatedSeen;
        var notice = Notice(source, kind, code, amountMatches ? Amount : 1, simulated);
        var decision = SettlementRules.Decide(notice, true, Deposit(TransactionStatus.Completed), new SettlementPolicy(Ours, allowSimulated));
        Assert.Equal(SettlementAction.None, decision.Action);
    }

    [Theory]
    [MemberData(nameof(AllCombinations))]
    public void OnlyAVerifiedRealPaymentOfTheRightAmountCredits(string source, NoticeKind kind, int code, TransactionStatus status, bool simulated, bool amountMatches, bool allowSimulated, bool simulatedSeen)
    {
        var notice = Notice(source, kind, code, amountMatches ? Amount : Amount - 1, simulated);
        var policy = new SettlementPolicy(Ours, allowSimulated);
        var credits = SettlementRules.Decide(notice, true, Deposit(status, simulatedSeen), policy).Action == SettlementAction.Complete;
        var queryAfterSimulation = source == PaymentResultSource.QueryTradeInfo && simulatedSeen && !allowSimulated;
        Assert.Equal(kind == NoticeKind.Paid && amountMatches && (!simulated || allowSimulated) && !queryAfterSimulation && status != TransactionStatus.Completed, credits);

        // None of the guards ever lets anything through.
        Assert.Equal(SettlementOutcome.Rejected, SettlementRules.Decide(notice, false, Deposit(status), policy).Outcome);
        Assert.Equal(SettlementOutcome.Rejected, SettlementRules.Decide(notice with { MerchantId = "2000132" }, true, Deposit(status), policy).Outcome);
        Assert.Equal(SettlementOutcome.Rejected, SettlementRules.Decide(notice, true, null, policy).Outcome);
        Assert.Equal(SettlementOutcome.Rejected, SettlementRules.Decide(notice, true, Deposit(status) with { Type = "withdrawal" }, policy).Outcome);
    }

    [Fact]
    public void RejectsAForgedMacBeforeLookingAtAnythingElse()
    {
        var d = SettlementRules.Decide(Notice(PaymentResultSource.ReturnUrl, NoticeKind.Paid, 1, Amount, false), false, Deposit(TransactionStatus.Pending), Strict);
        Assert.Equal(SettlementDecision.Rejected("CheckMacValue does not verify"), d);
    }

    [Fact]
    public void RejectsAnUnknownMerchantTradeNo()
    {
        var d = SettlementRules.Decide(Notice(PaymentResultSource.ReturnUrl, NoticeKind.Paid, 1, Amount, false), true, null, Strict);
        Assert.Equal("unknown MerchantTradeNo", d.Reason);
        Assert.True(d.NeedsAttention);
    }

    [Fact]
    public void FlagsAPaymentAfterExpiryForReview()
    {
        var d = SettlementRules.Decide(Notice(PaymentResultSource.ReturnUrl, NoticeKind.Paid, 1, Amount, false), true, Deposit(TransactionStatus.Expired), Strict);
        Assert.Equal("paid after expiry", d.ReviewReason);
        Assert.True(d.NeedsAttention);
    }

    [Fact]
    public void AFailureAfterCompletionIsIgnoredAndFlagged()
    {
        var d = SettlementRules.Decide(Notice(PaymentResultSource.ReturnUrl, NoticeKind.NotPaid, 10100058, Amount, false), true, Deposit(TransactionStatus.Completed), Strict);
        Assert.Equal(SettlementOutcome.Ignored, d.Outcome);
        Assert.True(d.NeedsAttention);
    }

    [Fact]
    public void APaidQueryTradeInfoAnswerAfterASimulatedResultIsRejectedAndFlaggedNotCredited()
    {
        var d = SettlementRules.Decide(Notice(PaymentResultSource.QueryTradeInfo, NoticeKind.Paid, 1, Amount, false), true, Deposit(TransactionStatus.Pending, simulatedSeen: true), Strict);
        Assert.Equal(SettlementAction.None, d.Action);
        Assert.Equal(SettlementOutcome.Rejected, d.Outcome);
        Assert.Contains("SimulatePaid=1", d.Reason);
        Assert.Equal("paid per QueryTradeInfo after a simulated payment: check ECPay", d.ReviewReason);
        Assert.True(d.NeedsAttention);

        // The stage-only setting credits it, like the simulated result itself.
        var allowed = SettlementRules.Decide(Notice(PaymentResultSource.QueryTradeInfo, NoticeKind.Paid, 1, Amount, false), true, Deposit(TransactionStatus.Pending, simulatedSeen: true), new SettlementPolicy(Ours, AllowSimulatedPayments: true));
        Assert.Equal(SettlementAction.Complete, allowed.Action);

        // A ReturnURL says SimulatePaid=0 explicitly: a real payment after a simulation is credited.
        var real = SettlementRules.Decide(Notice(PaymentResultSource.ReturnUrl, NoticeKind.Paid, 1, Amount, false), true, Deposit(TransactionStatus.Pending, simulatedSeen: true), Strict);
        Assert.Equal(SettlementAction.Complete, real.Action);
    }

    [Fact]
    public void ASimulatedResultNeedsAnOperatorsAttention()
    {
        var d = SettlementRules.Decide(Notice(PaymentResultSource.ReturnUrl, NoticeKind.Paid, 1, Amount, true), true, Deposit(TransactionStatus.Pending), Strict);
        Assert.Equal(SettlementOutcome.Simulated, d.Outcome);
        Assert.True(d.NeedsAttention);
    }

    [Theory]
    [InlineData(PaymentResultSource.PaymentInfoUrl, 1, "a paid result (RtnCode 1) posted to PaymentInfoURL")]
    [InlineData(PaymentResultSource.ReturnUrl, 2, "a number-issued result (RtnCode 2) posted to ReturnURL")]
    [InlineData(PaymentResultSource.ReturnUrl, 10100073, "a number-issued result (RtnCode 10100073) posted to ReturnURL")]
    public void AResultPostedToTheWrongEndpointIsRejectedAndChangesNothing(string source, int code, string reason)
    {
        foreach (var status in Enum.GetValues<TransactionStatus>())
        {
            var d = SettlementRules.Decide(Notice(source, NoticeKind.WrongEndpoint, code, Amount, false), true, Deposit(status), Strict);
            Assert.Equal(SettlementAction.None, d.Action);
            Assert.Equal(SettlementOutcome.Rejected, d.Outcome);
            Assert.Contains(reason, d.Reason);
            // A paid body that did not reach ReturnURL may be money received (or a misconfigured ReturnURL): flagged.
            Assert.Equal(code == 1, d.ReviewReason is not null);
        }
    }

    [Fact]
    public void APaidResultWithTheWrongAmountIsFlaggedForReview()
    {
        var d = SettlementRules.Decide(Notice(PaymentResultSource.ReturnUrl, NoticeKind.Paid, 1, Amount + 1, false), true, Deposit(TransactionStatus.Pending), Strict);
        Assert.Equal(SettlementOutcome.Rejected, d.Outcome);
        Assert.Equal($"paid result rejected: TradeAmt {Amount + 1} <> amount {Amount}", d.ReviewReason);
    }

    private static TransactionState Deposit(TransactionStatus status, bool simulatedSeen = false) => new(42, 7, TransactionState.Deposit, Amount, status, simulatedSeen);

    private static PaymentNotice Notice(string source, NoticeKind kind, int code, long amount, bool simulated) => new()
    {
        Source = source,
        Kind = kind,
        MerchantId = Ours,
        MerchantTradeNo = "T20261125000001",
        Code = code,
        TradeNo = "2611250000000001",
        TradeAmt = amount,
        SimulatePaid = simulated,
        Issued = kind == NoticeKind.NumberIssued ? new IssuedPaymentNumber("812", "9103522175887271", "", "", "", "", DateTimeOffset.UtcNow.AddDays(3)) : null,
    };
}
