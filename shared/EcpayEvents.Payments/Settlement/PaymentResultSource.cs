namespace EcpayEvents.Payments.Settlement;

/// <summary>Where a piece of truth about a payment came from.</summary>
public static class PaymentResultSource
{
    /// <summary>ECPay's server-to-server result post (ReturnURL).</summary>
    public const string ReturnUrl = "ReturnURL";
    /// <summary>ECPay's "ATM/CVS/BARCODE number issued" post (PaymentInfoURL).</summary>
    public const string PaymentInfoUrl = "PaymentInfoURL";
    /// <summary>An answer of QueryTradeInfo/V5, asked by the Timeouts reconcile task.</summary>
    public const string QueryTradeInfo = "QueryTradeInfo";
}
