namespace EcpayEvents.Payments.Deposits;

/// <summary>
/// How long a pending deposit stays payable, per method (TimeSpans, e.g. "00:30:00", "3.00:00:00").
/// Local configuration uses minutes so timeouts can be watched; ECPay's own parameters are derived
/// from these (see <see cref="DepositExpiry"/>).
/// </summary>
public sealed class DepositExpiryOptions
{
    /// <summary>Credit, WebATM, ApplePay, TWQR, BNPL and ALL (the time to choose and pay online).</summary>
    public TimeSpan Online { get; set; } = TimeSpan.FromMinutes(30);
    /// <summary>ATM virtual account (ECPay ExpireDate, 1–60 days).</summary>
    public TimeSpan Atm { get; set; } = TimeSpan.FromDays(3);
    /// <summary>CVS payment code (ECPay StoreExpireDate in minutes, ≤ 30 days).</summary>
    public TimeSpan Cvs { get; set; } = TimeSpan.FromDays(7);
    /// <summary>BARCODE (ECPay StoreExpireDate in days, 1–30).</summary>
    public TimeSpan Barcode { get; set; } = TimeSpan.FromDays(7);

    public IEnumerable<string> Problems()
    {
        if (Online <= TimeSpan.Zero || Online > TimeSpan.FromDays(1)) yield return "PaymentsApi:Deposit:Expiry:Online must be between 0 and 1 day.";
        if (Atm <= TimeSpan.Zero || Atm > TimeSpan.FromDays(60)) yield return "PaymentsApi:Deposit:Expiry:Atm must be between 0 and 60 days.";
        if (Cvs <= TimeSpan.Zero || Cvs > TimeSpan.FromDays(30)) yield return "PaymentsApi:Deposit:Expiry:Cvs must be between 0 and 30 days.";
        if (Barcode <= TimeSpan.Zero || Barcode > TimeSpan.FromDays(30)) yield return "PaymentsApi:Deposit:Expiry:Barcode must be between 0 and 30 days.";
    }
}
