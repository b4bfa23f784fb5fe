using EcpayEvents.Messaging;
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
    ];

    public static TheoryData<string, NoticeKind, int, TransactionStatus, bool, bool, bool> AllCombinations()
    {
        var data = new TheoryData<string, NoticeKind, int, TransactionStatus, bool, bool, bool>();
        foreach (var (source, kind, code) in Notices)
            foreach (var status in Enum.GetValues<TransactionStatus>())
                foreach (var simulated in new[] { false, true })
                    foreach (var amountMatches in new[] { true, false })
                        foreach (var allowSimulated in new[] { false, true })
                            data.Add(source, kind, code, status, simulated, amountMatches, allowSimulated);
        return data;
    }

    [Theory]
    [MemberData(nameof(AllCombinations))]
    public void DecisionFollowsTheRulesTable(string source, NoticeKind kind, int code, TransactionStatus status, bool simulated, bool amountMatches, bool allowSimulated)
    {
        var notice = Notice(source, kind, code, amountMatches ? Amount : Amount + 1, simulated);
        var decision = SettlementRules.Decide(notice, macVerified: true, Deposit(status), new SettlementPolicy(Ours, allowSimulated));

        var (action, outcome) = Expected(kind, status, simulated && !allowSimulated, amountMatches);
        Assert.Equal(action, decision.Action);
        Assert.Equal(outcome, decision.Outcome);
        if (decision.Outcome == SettlementOutcome.Rejected) Assert.Contains("amount mismatch", decision.Reason);
        Assert.Equal(status is TransactionStatus.Expired or TransactionStatus.Failed && action == SettlementAction.Complete, decision.ReviewReason is not null);
    }

    // The rules, written as a table rather than as code paths.
    private static (SettlementAction, string) Expected(NoticeKind kind, TransactionStatus status, bool simulatedAndNotAllowed, bool amountMatches)
    {
        if (simulatedAndNotAllowed) return (SettlementAction.None, SettlementOutcome.Simulated);
        if (kind is NoticeKind.Paid or NoticeKind.NumberIssued && !amountMatches) return (SettlementAction.None, SettlementOutcome.Rejected);
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
    public void ACompletedPaymentIsNeverChanged(string source, NoticeKind kind, int code, TransactionStatus status, bool simulated, bool amountMatches, bool allowSimulated)
    {
        _ = status;
        var notice = Notice(source, kind, code, amountMatches ? Amount : 1, simulated);
        var decision = SettlementRules.Decide(notice, true, Deposit(TransactionStatus.Completed), new SettlementPolicy(Ours, allowSimulated));
        Assert.Equal(SettlementAction.None, decision.Action);
    }

    [Theory]
    [MemberData(nameof(AllCombinations))]
    public void OnlyAVerifiedRealPaymentOfTheRightAmountCredits(string source, NoticeKind kind, int code, TransactionStatus status, bool simulated, bool amountMatches, bool allowSimulated)
    {
        var notice = Notice(source, kind, code, amountMatches ? Amount : Amount - 1, simulated);
        var policy = new SettlementPolicy(Ours, allowSimulated);
        var credits = SettlementRules.Decide(notice, true, Deposit(status), policy).Action == SettlementAction.Complete;
        Assert.Equal(kind == NoticeKind.Paid && amountMatches && (!simulated || allowSimulated) && status != TransactionStatus.Completed, credits);

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

    private static TransactionState Deposit(TransactionStatus status) => new(42, 7, TransactionState.Deposit, Amount, status);

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
