namespace EcpayEvents.Payments.Settlement;

/// <summary>A <c>payment_events</c> row as Dapper reads it (each query uses the columns it needs).</summary>
internal sealed class PaymentEventRow
{
    public long? TransactionId { get; set; }
    public string? MerchantTradeNo { get; set; }
    public string Source { get; set; } = "";
    public string RawFields { get; set; } = "";
    public DateTime ReceivedAt { get; set; }
    public string Outcome { get; set; } = "";
    public string? Reason { get; set; }
    public string DedupKey { get; set; } = "";
}
