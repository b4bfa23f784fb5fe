namespace EcpayEvents.Payments.Settlement;

/// <summary>What settling one message of a batch did: its <paramref name="Result"/>, or the <paramref name="Error"/> that
/// rolled it back alone (the message is then to be delivered again).</summary>
public sealed record SettlementBatchItem(SettlementResult? Result, Exception? Error);
