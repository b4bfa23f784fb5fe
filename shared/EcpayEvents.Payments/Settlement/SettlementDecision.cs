namespace EcpayEvents.Payments.Settlement;

/// <summary>What <see cref="SettlementRules.Decide"/> says to do with one result.</summary>
/// <param name="Action">What to change.</param>
/// <param name="Outcome">One of <see cref="SettlementOutcome"/>.</param>
/// <param name="Reason">Why, for operators (stored in payment_events.reason).</param>
/// <param name="ReviewReason">Set on the transaction when an operator should look at it.</param>
public sealed record SettlementDecision(SettlementAction Action, string Outcome, string? Reason = null, string? ReviewReason = null)
{
    public const string NeverDowngraded = "not paid, but the payment is completed: a completed payment is never downgraded";

    public static SettlementDecision Rejected(string reason) => new(SettlementAction.None, SettlementOutcome.Rejected, reason);

    /// <summary>
    /// Worth an operator's attention: rejected events, late credits, attempted downgrades, and simulated
    /// payments (someone used ECPay's back-office simulation on this merchant).
    /// </summary>
    public bool NeedsAttention => Outcome is SettlementOutcome.Rejected or SettlementOutcome.CreditedLate or SettlementOutcome.Simulated || ReviewReason is not null
        || (Outcome == SettlementOutcome.Ignored && Reason == NeverDowngraded);
}
