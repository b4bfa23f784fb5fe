namespace EcpayEvents.Payments.Timeouts;

/// <summary>A recorded QueryTradeInfo answer with TradeStatus 1.</summary>
public sealed record RecordedPaidAnswer(string TradeNo, long? TradeAmt);
