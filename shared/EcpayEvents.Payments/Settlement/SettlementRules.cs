namespace EcpayEvents.Payments.Settlement;

public enum TransactionStatus
{
    Pending,
    Completed,
    Failed,
    Expired,
}

/// <summary>The transaction a notice is about, as read (and row-locked) before deciding.</summary>
/// <param name="SimulatedResultSeen">
/// A SimulatePaid=1 result was recorded for this transaction (a <c>simulated</c> payment event): a later
/// "paid" QueryTradeInfo answer, which cannot say whether the payment was simulated, is not believed.
/// </param>
public sealed record TransactionState(long Id, long UserId, string Type, long Amount, TransactionStatus Status, bool SimulatedResultSeen = false)
{
    public const string Deposit = "deposit";
}

/// <summary>Settings the rules depend on.</summary>
/// <param name="MerchantId">Ours; a notice for any other merchant is rejected.</param>
/// <param name="AllowSimulatedPayments">Stage only: treat SimulatePaid=1 as a real payment.</param>
public sealed record SettlementPolicy(string MerchantId, bool AllowSimulatedPayments = false);

/// <summary>What to do to the transaction.</summary>
public enum SettlementAction
{
    /// <summary>Record the event only.</summary>
    None,
    /// <summary>Mark completed, store ECPay's trade number/payment type/date, one ledger entry (+amount), balance += amount.</summary>
    Complete,
    /// <summary>Mark failed (only from pending), store RtnCode/RtnMsg.</summary>
    Fail,
    /// <summary>Store the issued ATM/CVS/BARCODE number and its ExpireDate; stays pending.</summary>
    RecordPaymentNumber,
}

/// <summary>The <c>payment_events.outcome</c> values.</summary>
public static class SettlementOutcome
{
    public const string Credited = "credited";
    /// <summary>Credited although the transaction had expired or failed; flagged for review.</summary>
    public const string CreditedLate = "credited_late";
    public const string AlreadyCompleted = "already_completed";
    public const string Failed = "failed";
    public const string NumberIssued = "number_issued";
    public const string Simulated = "simulated";
    /// <summary>Not believed or not applicable (bad MAC, unknown order, other merchant, wrong amount, unparseable).</summary>
    public const string Rejected = "rejected";
    /// <summary>Believed, but it changes nothing (e.g. a failure after completion: never downgraded).</summary>
    public const string Ignored = "ignored";
}

/// <param name="Action">What to change.</param>
/// <param name="Outcome">One of <see cref="SettlementOutcome"/>.</param>
/// <param name="Reason">Why, for operators (stored in payment_events.reason).</param>
/// <param name="ReviewReason">Set on the transaction when an operator should look at it.</param>
public sealed record SettlementDecision(SettlementAction Action, string Outcome, string? Reason = null, string? ReviewReason = null)
{
    public static SettlementDecision Rejected(string reason) => new(SettlementAction.None, SettlementOutcome.Rejected, reason);

    /// <summary>
    /// Worth an operator's attention: rejected events, late credits, attempted downgrades, and simulated
    /// payments (someone used ECPay's back-office simulation on this merchant).
    /// </summary>
    public bool NeedsAttention => Outcome is SettlementOutcome.Rejected or SettlementOutcome.CreditedLate or SettlementOutcome.Simulated || ReviewReason is not null
        || (Outcome == SettlementOutcome.Ignored && Reason == NeverDowngraded);

    public const string NeverDowngraded = "not paid, but the payment is completed: a completed payment is never downgraded";
}

/// <summary>
/// The settlement rules: a pure function from (what ECPay says, what we have) to a decision. The
/// MySQL part (<see cref="PaymentResultSettlement"/>) reads and locks the transaction, asks, and applies.
/// </summary>
public static class SettlementRules
{
    public static SettlementDecision Decide(PaymentNotice notice, bool macVerified, TransactionState? transaction, SettlementPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(notice);
        ArgumentNullException.ThrowIfNull(policy);

        if (!macVerified)
            return SettlementDecision.Rejected("CheckMacValue does not verify");
        if (!string.Equals(notice.MerchantId, policy.MerchantId, StringComparison.Ordinal))
            return SettlementDecision.Rejected($"MerchantID {notice.MerchantId} is not ours");
        if (transaction is null)
            return SettlementDecision.Rejected("unknown MerchantTradeNo");
        if (transaction.Type != TransactionState.Deposit)
            return SettlementDecision.Rejected($"transaction {transaction.Id} is a {transaction.Type}, not a deposit");
        if (notice.Kind == NoticeKind.WrongEndpoint)
            return notice.Code == 1
                // Money may have been received (or ReturnURL is misconfigured): never credited from here, but flagged.
                ? SettlementDecision.Rejected($"wrong endpoint: a paid result (RtnCode 1) posted to {notice.Source}; not applied")
                    with { ReviewReason = $"paid result posted to {notice.Source}, not credited: check ECPay" }
                : SettlementDecision.Rejected($"wrong endpoint: a number-issued result (RtnCode {notice.Code}) posted to {notice.Source}; not applied");
        if (notice.SimulatePaid && !policy.AllowSimulatedPayments)
            return new(SettlementAction.None, SettlementOutcome.Simulated, "SimulatePaid=1: simulated from ECPay's back office, no money moved",
                // Completed already: if by a "paid" query answer that came first, that credit may be the simulation's.
                notice.Kind == NoticeKind.Paid && transaction.Status == TransactionStatus.Completed
                    ? "simulated result after completion: check the credit was a real payment" : null);

        var status = transaction.Status;
        switch (notice.Kind)
        {
            case NoticeKind.Paid:
                if (notice.TradeAmt != transaction.Amount)
                    return SettlementDecision.Rejected($"amount mismatch: TradeAmt {notice.TradeAmt}, transaction amount {transaction.Amount}")
                        with { ReviewReason = $"paid result rejected: TradeAmt {notice.TradeAmt} <> amount {transaction.Amount}" };
                // QueryTradeInfo carries no SimulatePaid: after a simulated result it cannot tell a
                // simulation from a payment, so it credits nobody and an operator checks ECPay's back office.
                if (notice.Source == PaymentResultSource.QueryTradeInfo && transaction.SimulatedResultSeen
                    && !policy.AllowSimulatedPayments && status != TransactionStatus.Completed)
                    return SettlementDecision.Rejected("QueryTradeInfo says paid, but a SimulatePaid=1 result was recorded for this transaction: not credited")
                        with { ReviewReason = "paid per QueryTradeInfo after a simulated payment: check ECPay" };
                return status switch
                {
                    TransactionStatus.Pending => new(SettlementAction.Complete, SettlementOutcome.Credited),
                    TransactionStatus.Completed => new(SettlementAction.None, SettlementOutcome.AlreadyCompleted),
                    // Money received is never lost: credit, and ask an operator to look.
                    TransactionStatus.Expired => new(SettlementAction.Complete, SettlementOutcome.CreditedLate, "paid after the transaction expired", "paid after expiry"),
                    TransactionStatus.Failed => new(SettlementAction.Complete, SettlementOutcome.CreditedLate, "paid after the transaction failed", "paid after failure"),
                    _ => throw new ArgumentOutOfRangeException(nameof(transaction), status, null),
                };

            case NoticeKind.NotPaid:
            case NoticeKind.IssueFailed:
                return status switch
                {
                    TransactionStatus.Pending => new(SettlementAction.Fail, SettlementOutcome.Failed, $"{notice.Source} code {notice.Code}"),
                    TransactionStatus.Completed => new(SettlementAction.None, SettlementOutcome.Ignored, SettlementDecision.NeverDowngraded),
                    _ => new(SettlementAction.None, SettlementOutcome.Ignored, $"not paid; the transaction is already {Name(status)}"),
                };

            case NoticeKind.NumberIssued:
                if (notice.TradeAmt != transaction.Amount)
                    return SettlementDecision.Rejected($"amount mismatch: TradeAmt {notice.TradeAmt}, transaction amount {transaction.Amount}");
                return status == TransactionStatus.Pending
                    ? new(SettlementAction.RecordPaymentNumber, SettlementOutcome.NumberIssued)
                    : new(SettlementAction.None, SettlementOutcome.Ignored, $"payment number issued, but the transaction is already {Name(status)}");

            case NoticeKind.NotYetPaid:
                return new(SettlementAction.None, SettlementOutcome.Ignored, $"not paid yet ({notice.Message})");

            case NoticeKind.WrongEndpoint: // handled above

            default:
                throw new ArgumentOutOfRangeException(nameof(notice), notice.Kind, null);
        }
    }

    public static string Name(TransactionStatus status) => status switch
    {
        TransactionStatus.Pending => "pending",
        TransactionStatus.Completed => "completed",
        TransactionStatus.Failed => "failed",
        TransactionStatus.Expired => "expired",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };

    public static TransactionStatus ParseStatus(string status) => status switch
    {
        "pending" => TransactionStatus.Pending,
        "completed" => TransactionStatus.Completed,
        "failed" => TransactionStatus.Failed,
        "expired" => TransactionStatus.Expired,
        _ => throw new FormatException($"unknown transaction status '{status}'"),
    };
}
