using EcpayEvents.Payments.Settlement;
using EcpayEvents.Payments.Transactions;

namespace EcpayEvents.Payments.Tests;

/// <summary>
/// The settlement decision against properties stated on their own (not a copy of the rules), each checked over
/// every combination of every input <see cref="SettlementRules.Decide"/> takes: MAC verified or not, parsed or
/// malformed, source, what the result says (endpoint included), code, merchant, amount, SimulatePaid; no
/// transaction or one of each type and status, with and without a recorded simulated result; both policies.
/// </summary>
public sealed class SettlementRulesTests
{
    private const string Ours = "3002607";
    private const string Theirs = "2000132";
    private const long Amount = 500;
    private static readonly SettlementPolicy Strict = new(Ours);

    private static readonly string[] Sources = [PaymentResultSource.ReturnUrl, PaymentResultSource.PaymentInfoUrl, PaymentResultSource.QueryTradeInfo];

    /// <summary>One input of the decision.</summary>
    public sealed record Case(ReceivedResult Received, TransactionState? Transaction, SettlementPolicy Policy)
    {
        public PaymentNotice? Notice => (Received as ReceivedResult.Parsed)?.Notice;
        public bool SimulatedAndNotAllowed => Notice is { SimulatePaid: true } && !Policy.AllowSimulatedPayments;
        public SettlementDecision Decision => SettlementRules.Decide(Received, Transaction, Policy);
        public override string ToString() => $"{Received} / {Transaction?.ToString() ?? "no transaction"} / {Policy}";
    }

    public static IEnumerable<ReceivedResult> AllReceived()
    {
        foreach (var source in Sources)
        {
            yield return new ReceivedResult.BadMac(source);
            foreach (var saysPaid in new[] { false, true })
                foreach (var merchant in new[] { Ours, Theirs, null })
                    yield return new ReceivedResult.Malformed(source, "TradeAmt 'x' is not a whole non-negative amount.", saysPaid, merchant);
            foreach (var kind in Enum.GetValues<NoticeKind>())
                foreach (var code in new[] { 1, 2, 10100073, 10100058, 0 })
                    foreach (var merchant in new[] { Ours, Theirs })
                        foreach (var amount in new[] { Amount, Amount - 1, Amount + 1 })
                            foreach (var simulatePaid in new[] { false, true })
                                yield return new ReceivedResult.Parsed(Notice(source, kind, code, amount, simulatePaid) with { MerchantId = merchant });
        }
    }

    public static IEnumerable<TransactionState?> AllTransactions()
    {
        yield return null;
        foreach (var type in TransactionType.All)
            foreach (var status in TransactionStatus.All)
                foreach (var simulatedSeen in new[] { false, true })
                    yield return new TransactionState(42, 7, type, Amount, status, simulatedSeen);
    }

    public static IEnumerable<Case> AllCases() =>
        from received in AllReceived()
        from transaction in AllTransactions()
        from allowSimulated in new[] { false, true }
        select new Case(received, transaction, new SettlementPolicy(Ours, allowSimulated));

    private static readonly IReadOnlyList<(Case Case, SettlementDecision Decision)> Decided =
        AllCases().Select(c => (c, c.Decision)).ToList();

    /// <summary>Every case for which <paramref name="holds"/> is false fails the test, the first few named.</summary>
    private static void ForEveryCase(Func<Case, SettlementDecision, bool> holds)
    {
        var failures = Decided.Where(d => !holds(d.Case, d.Decision)).ToList();
        Assert.True(failures.Count == 0,
            $"{failures.Count} of {Decided.Count} cases break it, e.g.:\n" + string.Join("\n", failures.Take(5).Select(f => $"{f.Case} → {f.Decision}")));
    }

    private static bool Credits(SettlementDecision d) => d.Action == SettlementAction.Complete;

    [Fact]
    public void TheInputsCoverEveryCombination() =>
        // 3 sources × (1 bad MAC + 6 malformed + 6 kinds × 5 codes × 2 merchants × 3 amounts × 2 SimulatePaid) × 17 transactions × 2 policies.
        Assert.Equal(3 * (1 + 6 + 6 * 5 * 2 * 3 * 2) * 17 * 2, Decided.Count);

    [Fact]
    public void NeverCreditsAnUnverifiedOrUnreadableResult() =>
        ForEveryCase((c, d) => c.Received is ReceivedResult.Parsed || d is { Action: SettlementAction.None, Outcome: SettlementOutcome.Rejected });

    [Fact]
    public void AnUnverifiedResultChangesNothingAndFlagsNothing() =>
        ForEveryCase((c, d) => c.Received is not ReceivedResult.BadMac || d is { Action: SettlementAction.None, ReviewReason: null });

    [Fact]
    public void NeverCreditsASimulatedPayment() =>
        ForEveryCase((c, d) => !Credits(d) || !c.SimulatedAndNotAllowed);

    [Fact]
    public void NeverCreditsAnotherMerchantsResult() =>
        ForEveryCase((c, d) => !Credits(d) || c.Notice!.MerchantId == Ours);

    [Fact]
    public void NeverCreditsAnotherAmount() =>
        ForEveryCase((c, d) => !Credits(d) || c.Notice!.TradeAmt == c.Transaction!.Amount);

    [Fact]
    public void CreditsOnlyAPaidResultForADeposit() =>
        ForEveryCase((c, d) => !Credits(d) || (c.Notice!.Kind == NoticeKind.Paid && c.Transaction is { Type: TransactionType.Deposit }));

    [Fact]
    public void AFailedOrUnpaidResultNeverCredits() =>
        ForEveryCase((c, d) => c.Notice is not { Kind: NoticeKind.NotPaid or NoticeKind.IssueFailed or NoticeKind.NotYetPaid or NoticeKind.NumberIssued or NoticeKind.WrongEndpoint } || !Credits(d));

    [Fact]
    public void NeverChangesACompletedPayment() =>
        ForEveryCase((c, d) => c.Transaction is not { Status: TransactionStatus.Completed } || d.Action == SettlementAction.None);

    [Fact]
    public void CreditsAtMostOnce()
    {
        // Apply the decision the way the database does, then deliver the same result again: it never credits twice.
        ForEveryCase((c, d) => !Credits(d) || !Credits(SettlementRules.Decide(c.Received, c.Transaction! with { Status = TransactionStatus.Completed }, c.Policy)));
    }

    [Fact]
    public void QueryTradeInfoNeverCreditsAfterASimulatedResult() =>
        // It carries no SimulatePaid, so it cannot tell the simulation from a payment.
        ForEveryCase((c, d) => !Credits(d) || !(c.Notice!.Source == PaymentResultSource.QueryTradeInfo && c.Transaction!.SimulatedResultSeen && !c.Policy.AllowSimulatedPayments));

    /// <summary>A verified, real, paid result of our merchant for a deposit of the same amount.</summary>
    private static bool Genuine(Case c) =>
        c.Notice is { Kind: NoticeKind.Paid } n && n.MerchantId == Ours && !c.SimulatedAndNotAllowed
        && c.Transaction is { Type: TransactionType.Deposit } t && n.TradeAmt == t.Amount
        && !(n.Source == PaymentResultSource.QueryTradeInfo && t.SimulatedResultSeen && !c.Policy.AllowSimulatedPayments);

    [Fact]
    public void CreditsAGenuinePaymentForAPendingDeposit() =>
        ForEveryCase((c, d) => !(Genuine(c) && c.Transaction!.Status == TransactionStatus.Pending) || d is { Action: SettlementAction.Complete, Outcome: SettlementOutcome.Credited, ReviewReason: null });

    [Fact]
    public void CreditsAGenuinePaymentAfterExpiryOrFailureAndFlagsIt() =>
        // Money received is never lost.
        ForEveryCase((c, d) => !(Genuine(c) && c.Transaction!.Status is TransactionStatus.Expired or TransactionStatus.Failed)
            || d is { Action: SettlementAction.Complete, Outcome: SettlementOutcome.CreditedLate, ReviewReason: not null });

    [Fact]
    public void FailsOnlyAPendingDepositOnAVerifiedFailureOfOurs() =>
        ForEveryCase((c, d) => d.Action != SettlementAction.Fail
            || (c.Notice is { Kind: NoticeKind.NotPaid or NoticeKind.IssueFailed, MerchantId: Ours } && !c.SimulatedAndNotAllowed
                && c.Transaction is { Type: TransactionType.Deposit, Status: TransactionStatus.Pending }));

    [Fact]
    public void RecordsAPaymentNumberOnlyForAPendingDepositOfTheSameAmount() =>
        ForEveryCase((c, d) => d.Action != SettlementAction.RecordPaymentNumber
            || (c.Notice is { Kind: NoticeKind.NumberIssued, MerchantId: Ours } n && !c.SimulatedAndNotAllowed
                && c.Transaction is { Type: TransactionType.Deposit, Status: TransactionStatus.Pending } t && n.TradeAmt == t.Amount));

    [Fact]
    public void ASimulatedResultOfOursIsRecordedAsSimulatedAndNeedsAttention() =>
        ForEveryCase((c, d) => !(c.SimulatedAndNotAllowed && c.Notice is { MerchantId: Ours } n && n.Kind != NoticeKind.WrongEndpoint && c.Transaction is { Type: TransactionType.Deposit })
            || d is { Action: SettlementAction.None, Outcome: SettlementOutcome.Simulated, NeedsAttention: true });

    [Fact]
    public void MoneyThatMayHaveArrivedButIsNotCreditedIsFlagged()
    {
        // A verified "paid" for a transaction of ours that is not completed: credited, or flagged for an operator.
        static bool SaysPaidForUs(Case c) => c.Received switch
        {
            ReceivedResult.Malformed m => m.SaysPaid && m.MerchantId == Ours && c.Transaction is not null,
            ReceivedResult.Parsed { Notice: var n } => n.MerchantId == Ours && !c.SimulatedAndNotAllowed && c.Transaction is { Type: TransactionType.Deposit }
                && (n.Kind == NoticeKind.Paid || (n.Kind == NoticeKind.WrongEndpoint && n.Code == 1)),
            _ => false,
        };
        ForEveryCase((c, d) => !(SaysPaidForUs(c) && c.Transaction!.Status != TransactionStatus.Completed) || Credits(d) || d.ReviewReason is not null);
    }

    [Fact]
    public void AResultForNoDepositOfOursChangesNothing() =>
        ForEveryCase((c, d) => c.Transaction is { Type: TransactionType.Deposit } && c.Notice is { MerchantId: Ours }
            || d is { Action: SettlementAction.None, Outcome: SettlementOutcome.Rejected });

    [Fact]
    public void EveryRejectionLateCreditAndSimulationNeedsAttention() =>
        ForEveryCase((c, d) => d.Outcome is not (SettlementOutcome.Rejected or SettlementOutcome.CreditedLate or SettlementOutcome.Simulated) || d.NeedsAttention);

    [Fact]
    public void ADecisionNeverFlagsATransactionThatIsNotThere() =>
        ForEveryCase((c, d) => c.Transaction is not null || (d.ReviewReason is null && d.Action == SettlementAction.None));

    // What operators read: the reasons, pinned on examples.

    [Fact]
    public void AForgedMacIsRejectedBeforeAnythingElse() =>
        Assert.Equal(SettlementDecision.Rejected("CheckMacValue does not verify"),
            SettlementRules.Decide(new ReceivedResult.BadMac(PaymentResultSource.ReturnUrl), Deposit(TransactionStatus.Pending), Strict));

    [Fact]
    public void AMalformedPaidResultOfOursIsRejectedAndFlagged()
    {
        var d = SettlementRules.Decide(new ReceivedResult.Malformed(PaymentResultSource.ReturnUrl, "TradeAmt is missing.", true, Ours), Deposit(TransactionStatus.Pending), Strict);
        Assert.Equal("malformed ReturnURL: TradeAmt is missing.", d.Reason);
        Assert.Equal("paid result could not be read: TradeAmt is missing.", d.ReviewReason);
    }

    [Fact]
    public void AnUnknownMerchantTradeNoIsRejected()
    {
        var d = Decide(Notice(PaymentResultSource.ReturnUrl, NoticeKind.Paid, 1, Amount, false), null);
        Assert.Equal("unknown MerchantTradeNo", d.Reason);
        Assert.True(d.NeedsAttention);
    }

    [Fact]
    public void APaymentAfterExpiryIsFlagged() =>
        Assert.Equal("paid after expiry", Decide(Notice(PaymentResultSource.ReturnUrl, NoticeKind.Paid, 1, Amount, false), Deposit(TransactionStatus.Expired)).ReviewReason);

    [Fact]
    public void AFailureAfterCompletionIsIgnoredAndNeedsAttention()
    {
        var d = Decide(Notice(PaymentResultSource.ReturnUrl, NoticeKind.NotPaid, 10100058, Amount, false), Deposit(TransactionStatus.Completed));
        Assert.Equal(new SettlementDecision(SettlementAction.None, SettlementOutcome.Ignored, SettlementDecision.NeverDowngraded), d);
        Assert.True(d.NeedsAttention);
    }

    [Fact]
    public void APaidQueryTradeInfoAnswerAfterASimulatedResultIsRejectedAndFlagged()
    {
        var d = Decide(Notice(PaymentResultSource.QueryTradeInfo, NoticeKind.Paid, 1, Amount, false), Deposit(TransactionStatus.Pending, simulatedSeen: true));
        Assert.Equal(SettlementOutcome.Rejected, d.Outcome);
        Assert.Contains("SimulatePaid=1", d.Reason);
        Assert.Equal("paid per QueryTradeInfo after a simulated payment: check ECPay", d.ReviewReason);
    }

    [Fact]
    public void ASimulatedResultIsRecordedWithItsReason()
    {
        var d = Decide(Notice(PaymentResultSource.ReturnUrl, NoticeKind.Paid, 1, Amount, true), Deposit(TransactionStatus.Completed));
        Assert.Equal(SettlementOutcome.Simulated, d.Outcome);
        Assert.Equal("SimulatePaid=1: simulated from ECPay's back office, no money moved", d.Reason);
        Assert.Equal("simulated result after completion: check the credit was a real payment", d.ReviewReason);
    }

    [Theory]
    [InlineData(PaymentResultSource.PaymentInfoUrl, 1, "a paid result (RtnCode 1) posted to PaymentInfoURL")]
    [InlineData(PaymentResultSource.ReturnUrl, 2, "a number-issued result (RtnCode 2) posted to ReturnURL")]
    [InlineData(PaymentResultSource.ReturnUrl, 10100073, "a number-issued result (RtnCode 10100073) posted to ReturnURL")]
    public void AResultPostedToTheWrongEndpointSaysSo(string source, int code, string reason) =>
        Assert.Contains(reason, Decide(Notice(source, NoticeKind.WrongEndpoint, code, Amount, false), Deposit(TransactionStatus.Pending)).Reason);

    [Fact]
    public void APaidResultWithTheWrongAmountIsFlagged() =>
        Assert.Equal($"paid result rejected: TradeAmt {Amount + 1} <> amount {Amount}",
            Decide(Notice(PaymentResultSource.ReturnUrl, NoticeKind.Paid, 1, Amount + 1, false), Deposit(TransactionStatus.Pending)).ReviewReason);

    private static SettlementDecision Decide(PaymentNotice notice, TransactionState? transaction) =>
        SettlementRules.Decide(new ReceivedResult.Parsed(notice), transaction, Strict);

    private static TransactionState Deposit(string status, bool simulatedSeen = false) => new(42, 7, TransactionType.Deposit, Amount, status, simulatedSeen);

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
