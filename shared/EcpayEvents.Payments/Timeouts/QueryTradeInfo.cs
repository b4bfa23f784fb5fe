using EcpayEvents.Ecpay;

namespace EcpayEvents.Payments.Timeouts;

/// <summary>Asks ECPay about one order (a seam so the use case does not care how).</summary>
public delegate Task<QueryTradeInfoResult> QueryTradeInfo(string merchantTradeNo, CancellationToken ct);
