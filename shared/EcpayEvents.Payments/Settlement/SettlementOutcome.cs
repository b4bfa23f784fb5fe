namespace EcpayEvents.Payments.Settlement;

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
