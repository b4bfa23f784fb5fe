namespace EcpayEvents.Payments.Timeouts;

/// <summary>A completed deposit's credit, as the ledger records it, for confirming it with ECPay.</summary>
/// <param name="CreditedAt">When the ledger entry was written (our clock: a post's PaymentDate is whatever the post says); null if there is none.</param>
/// <param name="EcpayTradeNo">The TradeNo of the result that completed it.</param>
/// <param name="ConfirmedAt">When QueryTradeInfo confirmed it, if it did.</param>
/// <param name="SimulatedResultSeen">A SimulatePaid=1 result was recorded: a "paid" query answer cannot tell it from a payment.</param>
/// <param name="PaidQueryAnswers">QueryTradeInfo answers saying paid that Settlement recorded (credited or already completed) for it.</param>
public sealed record CreditEvidence(
    DateTimeOffset? CreditedAt,
    string? EcpayTradeNo,
    DateTimeOffset? ConfirmedAt,
    bool SimulatedResultSeen,
    IReadOnlyList<RecordedPaidAnswer> PaidQueryAnswers);
