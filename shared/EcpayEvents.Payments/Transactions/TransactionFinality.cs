namespace EcpayEvents.Payments.Transactions;

/// <summary>
/// When a status can never change again: completed at once; expired and failed only <see cref="LateWindow"/> later,
/// because a payment ECPay reports late is still credited and turns them completed.
/// </summary>
public static class TransactionFinality
{
    /// <summary>
    /// How long a late payment is expected (ECPay's re-sends, its 10–40 minute re-queries, delayed CVS reports); one
    /// reported even later is still credited, and flagged for an operator.
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
