using EcpayEvents.Payments.Transactions;

namespace EcpayEvents.Payments.Settlement;

/// <summary>
/// The whole settlement decision, as one pure function: (what a message says, the transaction it is about,
/// our settings) → what to do. Every rule about a payment result is here: what credits a deposit, what
/// happens to a SimulatePaid=1 result, a forged or malformed one, a wrong amount, merchant or endpoint.
/// <see cref="PaymentResultSettlement"/> only loads, calls this, and writes.
/// </summary>
public static class SettlementRules
{
    /// <param name="received">The message: MAC verified or not, parsed or not, and what it says.</param>
    /// <param name="transaction">The transaction its MerchantTradeNo names (any type); null when there is none.</param>
    /// <param name="policy">Our MerchantID; whether simulated payments count (stage only).</param>
    public static SettlementDecision Decide(ReceivedResult received, TransactionState? transaction, SettlementPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(received);
        ArgumentNullException.ThrowIfNull(policy);
        return received switch
        {
            // A forger must not be able to flag transactions either: nothing but the rejected event is recorded.
            ReceivedResult.BadMac => SettlementDecision.Rejected("CheckMacValue does not verify"),
            ReceivedResult.Malformed malformed => DecideMalformed(malformed, transaction, policy),
            ReceivedResult.Parsed parsed => DecideParsed(parsed.Notice, transaction, policy),
            _ => throw new ArgumentOutOfRangeException(nameof(received), received.GetType().Name, null),
        };
    }

    /// <summary>
    /// Whether <see cref="Decide"/> reads <see cref="TransactionState.SimulatedResultSeen"/> for this message (only
    /// a "paid" QueryTradeInfo answer does), so the loader asks the database only then.
    /// </summary>
    public static bool ReadsSimulationHistory(ReceivedResult received) =>
        received is ReceivedResult.Parsed { Notice: { Kind: NoticeKind.Paid, Source: PaymentResultSource.QueryTradeInfo } };

    // Verified by our keys but unreadable: never applied. If it says "paid" for us, money may have been
    // received, so the transaction is flagged for an operator.
    private static SettlementDecision DecideMalformed(ReceivedResult.Malformed malformed, TransactionState? transaction, SettlementPolicy policy)
    {
        var rejected = SettlementDecision.Rejected($"malformed {malformed.Source}: {malformed.Error}");
        return malformed.SaysPaid && transaction is not null && string.Equals(malformed.MerchantId, policy.MerchantId, StringComparison.Ordinal)
            ? rejected with { ReviewReason = $"paid result could not be read: {malformed.Error}" }
            : rejected;
    }

    private static SettlementDecision DecideParsed(PaymentNotice notice, TransactionState? transaction, SettlementPolicy policy)
    {
        if (!string.Equals(notice.MerchantId, policy.MerchantId, StringComparison.Ordinal))
            return SettlementDecision.Rejected($"MerchantID {notice.MerchantId} is not ours");
        if (transaction is null)
            return SettlementDecision.Rejected("unknown MerchantTradeNo");
        if (transaction.Type != TransactionType.Deposit)
            return SettlementDecision.Rejected($"transaction {transaction.Id} is a {transaction.Type}, not a deposit");
        if (notice.Kind == NoticeKind.WrongEndpoint)
            return notice.Code == 1
                // Money may have been received (or ReturnURL is misconfigured): never credited from here, but flagged.
                ? SettlementDecision.Rejected($"wrong endpoint: a paid result (RtnCode 1) posted to {notice.Source}; not applied")
                    with { ReviewReason = $"paid result posted to {notice.Source}, not credited: check ECPay" }
                : SettlementDecision.Rejected($"wrong endpoint: a number-issued result (RtnCode {notice.Code}) posted to {notice.Source}; not applied");
        // SimulatePaid=1: ECPay's back-office simulation, no money moved. Recorded, never applied.
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
                    _ => new(SettlementAction.None, SettlementOutcome.Ignored, $"not paid; the transaction is already {status}"),
                };

            case NoticeKind.NumberIssued:
                if (notice.TradeAmt != transaction.Amount)
                    return SettlementDecision.Rejected($"amount mismatch: TradeAmt {notice.TradeAmt}, transaction amount {transaction.Amount}");
                return status == TransactionStatus.Pending
                    ? new(SettlementAction.RecordPaymentNumber, SettlementOutcome.NumberIssued)
                    : new(SettlementAction.None, SettlementOutcome.Ignored, $"payment number issued, but the transaction is already {status}");

            case NoticeKind.NotYetPaid:
                return new(SettlementAction.None, SettlementOutcome.Ignored, $"not paid yet ({notice.Message})");

            default:
                throw new ArgumentOutOfRangeException(nameof(notice), notice.Kind, null);
        }
    }
}
