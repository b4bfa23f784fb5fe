namespace EcpayEvents.Payments.Settlement;

/// <summary>The transaction a result is about, as read (and row-locked) before deciding.</summary>
/// <param name="Type">A <see cref="Transactions.TransactionType"/> value.</param>
/// <param name="Status">A <see cref="Transactions.TransactionStatus"/> value.</param>
/// <param name="SimulatedResultSeen">
/// A SimulatePaid=1 result was recorded for this transaction: a later "paid" QueryTradeInfo answer, which cannot
/// say whether the payment was simulated, is not believed.
/// </param>
public sealed record TransactionState(long Id, long UserId, string Type, long Amount, string Status, bool SimulatedResultSeen = false);
