namespace EcpayEvents.Payments.Transactions;

/// <summary>
/// When a transaction's status is final, i.e. can never change again. Completed is final at once (a completed
/// payment is never downgraded; a withdrawal is completed when it exists). Pending is not. Expired and failed
/// deposits are not final yet: a payment ECPay reports late is still credited (money received is never lost),
/// which turns them into completed. They become final <see cref="LateWindow"/> after they expired or failed.
/// </summary>
public static class TransactionFinality
{
    /// <summary>
    /// How long an expired or failed deposit may still be completed by a late payment: ECPay keeps re-sending a
    /// result it could not deliver, asks to query again 10–40 minutes after a payment the bank has not confirmed,
    /// and convenience-store payments are reported with a delay. A payment reported even later is still credited,
    /// and flagged for an operator ("paid after expiry").
    /// </summary>
    public static readonly TimeSpan LateWindow = TimeSpan.FromDays(1);

    /// <param name="updatedAt">The row's updated_at: when it last changed status (a later review flag only moves it later).</param>
    public static DateTimeOffset? FinalAt(string type, string status, DateTimeOffset updatedAt) => status switch
    {
        TransactionStatus.Completed => updatedAt,
        TransactionStatus.Expired or TransactionStatus.Failed when type == TransactionType.Deposit => updatedAt + LateWindow,
        TransactionStatus.Expired or TransactionStatus.Failed => updatedAt,
        _ => null,
    };
}
