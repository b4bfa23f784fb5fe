namespace EcpayEvents.Payments.Settlement;

/// <summary>The ATM/CVS/BARCODE payment number ECPay issued (PaymentInfoURL).</summary>
public sealed record IssuedPaymentNumber(string BankCode, string VAccount, string PaymentNo, string Barcode1, string Barcode2, string Barcode3, DateTimeOffset? ExpireDate);
