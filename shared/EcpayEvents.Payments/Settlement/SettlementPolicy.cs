namespace EcpayEvents.Payments.Settlement;

/// <summary>Settings the settlement rules depend on.</summary>
/// <param name="MerchantId">Ours; a result for any other merchant is rejected.</param>
/// <param name="AllowSimulatedPayments">Stage only: treat SimulatePaid=1 as a real payment.</param>
public sealed record SettlementPolicy(string MerchantId, bool AllowSimulatedPayments = false);
