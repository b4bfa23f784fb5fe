namespace EcpayEvents.Payments.Settlement;

/// <summary>What settling one message did.</summary>
/// <param name="Duplicate">The same event was recorded before: nothing changed.</param>
public sealed record SettlementResult(string? MerchantTradeNo, long? TransactionId, string Outcome, string? Reason, bool Duplicate, bool NeedsAttention, string DedupKey);
