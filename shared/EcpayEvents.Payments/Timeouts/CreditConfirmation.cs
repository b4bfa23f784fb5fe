namespace EcpayEvents.Payments.Timeouts;

/// <summary>
/// When a completed deposit's credit is confirmed with QueryTradeInfo. ECPay advises asking 10 minutes after a
/// payment, and again 10–30 minutes later when the bank had not answered yet (TradeStatus 0).
/// </summary>
/// <param name="Enabled">The execution understands the confirmed/unconfirmed answers (its Reconcile input says confirmCredit).</param>
/// <param name="FirstLookAfterCredit">Ask no earlier than this after the credit (the timer waits longer when it fires earlier).</param>
/// <param name="UnpaidLookAgainAfterCredit">An "unpaid" answer before this much time after the credit is asked again then, not flagged.</param>
public sealed record CreditConfirmation(bool Enabled, TimeSpan FirstLookAfterCredit, TimeSpan UnpaidLookAgainAfterCredit)
{
    public static readonly TimeSpan DefaultFirstLook = TimeSpan.FromMinutes(10);
    public static readonly TimeSpan DefaultUnpaidLookAgain = TimeSpan.FromMinutes(40);

    public static CreditConfirmation Off { get; } = new(false, DefaultFirstLook, DefaultUnpaidLookAgain);
}
