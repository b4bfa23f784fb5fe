using System.Globalization;
using EcpayEvents.Ecpay;

namespace EcpayEvents.Payments.Deposits;

/// <summary>Deposit settings (bound from <c>PaymentsApi:Deposit</c>).</summary>
public sealed class DepositOptions
{
    /// <summary>
    /// Inclusive limits for any method; ECPay's own per-method limits apply on top — the one table in
    /// <see cref="CheckoutForm.AmountLimitsByMethod"/> (Credit 5–199,999, ATM/WebATM 11–49,999, CVS 33–6,000,
    /// BARCODE 17–20,000, …). See <see cref="AmountRange"/>.
    /// </summary>
    public long MinAmount { get; set; } = 1;
    public long MaxAmount { get; set; } = 199_999;
    /// <summary>1–4 upper-case letters or digits that start every MerchantTradeNo (tells environments apart).</summary>
    public string MerchantTradeNoPrefix { get; set; } = "EE";
    /// <summary>ChoosePayment values a customer may pick; empty means every value ECPay knows.</summary>
    public string[] PaymentMethods { get; set; } = [];
    public DepositExpiryOptions Expiry { get; set; } = new();

    public IEnumerable<string> Problems()
    {
        if (MinAmount < 1) yield return "PaymentsApi:Deposit:MinAmount must be at least 1.";
        if (MaxAmount < MinAmount) yield return "PaymentsApi:Deposit:MaxAmount must be at least MinAmount.";
        if (MerchantTradeNoPrefix.Length is < 1 or > 4 || !MerchantTradeNoPrefix.All(c => char.IsAsciiDigit(c) || char.IsAsciiLetterUpper(c)))
            yield return "PaymentsApi:Deposit:MerchantTradeNoPrefix must be 1–4 upper-case letters or digits.";
        foreach (var m in PaymentMethods.Where(m => !ChoosePayment.Known.Contains(m)))
            yield return $"PaymentsApi:Deposit:PaymentMethods: '{m}' is not an ECPay ChoosePayment value.";
        // A method named in PaymentMethods whose ECPay range does not overlap MinAmount–MaxAmount could
        // never be used. (Without PaymentMethods, such methods are simply not offered: AllowedMethods.)
        if (MinAmount >= 1 && MaxAmount >= MinAmount)
            foreach (var m in PaymentMethods.Where(ChoosePayment.Known.Contains))
            {
                var (min, max) = AmountRange(m);
                if (min > max)
                {
                    var (ecpayMin, ecpayMax) = CheckoutForm.AmountLimits(m);
                    yield return string.Create(CultureInfo.InvariantCulture,
                        $"PaymentsApi:Deposit: {m} takes {ecpayMin}–{ecpayMax} TWD at ECPay, outside MinAmount–MaxAmount ({MinAmount}–{MaxAmount}); remove it from PaymentMethods or widen the amounts.");
                }
            }
        if (MinAmount >= 1 && MaxAmount >= MinAmount && PaymentMethods.Length == 0 && AllowedMethods.Count == 0)
            yield return string.Create(CultureInfo.InvariantCulture, $"PaymentsApi:Deposit: no payment method takes amounts from {MinAmount} to {MaxAmount} TWD at ECPay; widen the amounts.");
        foreach (var p in Expiry.Problems()) yield return p;
    }

    /// <summary>PaymentMethods, or when none are configured every ECPay method that MinAmount–MaxAmount leaves usable.</summary>
    public IReadOnlyCollection<string> AllowedMethods =>
        PaymentMethods.Length > 0 ? PaymentMethods : ChoosePayment.Known.Where(m => AmountRange(m) is var (min, max) && min <= max).ToArray();

    /// <summary>The amounts a deposit by <paramref name="method"/> may have: MinAmount–MaxAmount within ECPay's range for the method (Min &gt; Max when none).</summary>
    public (long Min, long Max) AmountRange(string method)
    {
        var (ecpayMin, ecpayMax) = CheckoutForm.AmountLimits(method);
        return (Math.Max(MinAmount, ecpayMin), Math.Min(MaxAmount, ecpayMax));
    }
}
