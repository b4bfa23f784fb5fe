using System.Globalization;
using EcpayEvents.Payments.Transactions;

namespace EcpayEvents.PaymentsApi;

/// <summary>
/// The polling contract of GET /transactions/{id}: poll while <c>isFinal</c> is false, no sooner than the
/// <see cref="PollAfterHeader"/> says, with If-None-Match (304 while nothing changed); stop once <c>isFinal</c>
/// is true — from then on the answer never changes.
/// </summary>
public static class TransactionPolling
{
    /// <summary>Seconds until the next poll is worth it; absent when the transaction is final.</summary>
    public const string PollAfterHeader = "Poll-After";

    /// <summary>A pending deposit changes when the customer pays: poll often.</summary>
    public static readonly TimeSpan PendingInterval = TimeSpan.FromSeconds(3);

    /// <summary>An expired or failed deposit changes only if a late payment arrives: poll rarely.</summary>
    public static readonly TimeSpan SettledInterval = TimeSpan.FromSeconds(60);

    public static void SetHeaders(HttpResponse response, TransactionView transaction)
    {
        if (transaction.IsFinal) return;
        var interval = transaction.Status == TransactionStatus.Pending ? PendingInterval : SettledInterval;
        response.Headers[PollAfterHeader] = ((int)interval.TotalSeconds).ToString(CultureInfo.InvariantCulture);
    }
}
