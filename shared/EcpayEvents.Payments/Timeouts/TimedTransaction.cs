namespace EcpayEvents.Payments.Timeouts;

/// <summary>The transaction the timer is about, as the ledger has it now.</summary>
/// <param name="Credit">For a completed deposit: what its credit rests on (null otherwise).</param>
public sealed record TimedTransaction(long Id, string Type, long Amount, string Status, string? MerchantTradeNo, DateTimeOffset? ExpiresAt, CreditEvidence? Credit = null)
{
    public bool IsFinal => Status is Transactions.TransactionStatus.Completed or Transactions.TransactionStatus.Failed or Transactions.TransactionStatus.Expired;
}
