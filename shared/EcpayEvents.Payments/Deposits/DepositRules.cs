using System.Globalization;
using System.Security.Cryptography;
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

/// <summary>When a deposit expires, and the ECPay parameters that make ECPay's deadline match.</summary>
public sealed record DepositExpiry(DateTimeOffset ExpiresAt, int? ExpireDate, int? StoreExpireDate)
{
    /// <summary>
    /// Online methods: created + Online. ATM/BARCODE: ECPay counts whole days and ends at the end of the
    /// last day (Taiwan time), so a whole-day setting expires then; a shorter (local) setting is sent
    /// as 1 day and expires after the setting. CVS: minutes, exact. ALL: online expiry, plus ATM's
    /// ExpireDate in case the customer picks ATM (the timeout is extended when a number is issued).
    /// ECPay's deadline is therefore never earlier than ours; a payment after our expiry is still
    /// credited (and flagged) by Settlement.
    /// </summary>
    public static DepositExpiry For(string method, DateTimeOffset createdAt, DepositExpiryOptions options) => method switch
    {
        ChoosePayment.Atm => Days(createdAt, options.Atm, 60, atm: true),
        ChoosePayment.Barcode => Days(createdAt, options.Barcode, 30, atm: false),
        ChoosePayment.Cvs => new(createdAt + options.Cvs, null, (int)Math.Clamp(Math.Ceiling(options.Cvs.TotalMinutes), 1, 43_200)),
        ChoosePayment.All => new(createdAt + options.Online, AtmDays(options.Atm), null),
        _ => new(createdAt + options.Online, null, null),
    };

    private static int AtmDays(TimeSpan atm) => (int)Math.Clamp(Math.Ceiling(atm.TotalDays), 1, 60);

    private static DepositExpiry Days(DateTimeOffset createdAt, TimeSpan setting, int maxDays, bool atm)
    {
        var days = (int)Math.Clamp(Math.Ceiling(setting.TotalDays), 1, maxDays);
        var wholeDays = setting.Ticks % TimeSpan.TicksPerDay == 0;
        var expiresAt = wholeDays ? EndOfTaiwanDay(createdAt, days) : createdAt + setting;
        return atm ? new(expiresAt, days, null) : new(expiresAt, null, days);
    }

    private static DateTimeOffset EndOfTaiwanDay(DateTimeOffset instant, int daysLater)
    {
        var taiwan = TaiwanTime.ToTaiwan(instant);
        var day = new DateTimeOffset(taiwan.Date, TaiwanTime.Offset).AddDays(daysLater + 1).AddSeconds(-1);
        return day.ToUniversalTime();
    }
}

/// <summary>
/// MerchantTradeNo: prefix + the creation time in milliseconds, base 36 (9 characters, sortable, good
/// until the year 5188) + random base-36 characters up to 20 in all. ECPay rejects a reused number
/// forever; the unique index makes reuse impossible, and a (vanishingly rare) collision is retried.
/// </summary>
public static class MerchantTradeNumber
{
    private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    public const int Length = 20;

    public static string New(string prefix, DateTimeOffset now)
    {
        var chars = new char[Length];
        prefix.CopyTo(0, chars, 0, prefix.Length);
        var ms = now.ToUnixTimeMilliseconds();
        for (var i = prefix.Length + 8; i >= prefix.Length; i--)
        {
            chars[i] = Alphabet[(int)(ms % 36)];
            ms /= 36;
        }
        for (var i = prefix.Length + 9; i < Length; i++)
            chars[i] = Alphabet[RandomNumberGenerator.GetInt32(36)];
        return new string(chars);
    }

    public static bool IsWellFormed(string? value) =>
        value is { Length: >= 1 and <= Length } && value.All(char.IsAsciiLetterOrDigit);

    internal static string Describe(long amount) => string.Create(CultureInfo.InvariantCulture, $"Deposit {amount} TWD");
}

/// <summary>
/// The rule for a deposit's optional itemName (sent to ECPay as ItemName), with a message that names the
/// limit that was hit. ECPay's limit is 400 UTF-8 bytes (<see cref="CheckoutForm.MaxItemNameBytes"/>),
/// which is about 133 CJK characters — less than <see cref="MaxCharacters"/> for Chinese text.
/// <c>RequestDeposit.Validate</c> refuses an item name with the message of <see cref="Problem"/>. No '&amp;', '='
/// or control character (<see cref="CheckMacValue.SeparatorProblem"/>, enforced again where the form is signed).
/// </summary>
public static class DepositItemName
{
    public const int MaxCharacters = 200;

    /// <summary>Why the item name is refused, or null when it is accepted.</summary>
    public static string? Problem(string itemName)
    {
        ArgumentNullException.ThrowIfNull(itemName);
        if (itemName.Trim().Length == 0)
            return "must not be blank.";
        // The item name is signed with the merchant key: '&' or '=' could make the signed checkout read as
        // another message (an ECPay post) under the same CheckMacValue; control characters are refused too.
        if (CheckMacValue.SeparatorProblem(itemName) is { } separator)
            return separator + " Separate items with '#'.";
        if (itemName.Any(char.IsSurrogate))
            return "must not contain emoji or other characters outside the Basic Multilingual Plane.";
        if (itemName.Length > MaxCharacters)
            return string.Create(CultureInfo.InvariantCulture, $"is {itemName.Length} characters; the limit is {MaxCharacters} characters and {CheckoutForm.MaxItemNameBytes} UTF-8 bytes (about 133 CJK characters).");
        var bytes = System.Text.Encoding.UTF8.GetByteCount(itemName);
        if (bytes > CheckoutForm.MaxItemNameBytes)
            return string.Create(CultureInfo.InvariantCulture, $"is {bytes} UTF-8 bytes; ECPay's limit is {CheckoutForm.MaxItemNameBytes} UTF-8 bytes (about 133 CJK characters; ASCII counts 1 byte, CJK 3).");
        return null;
    }
}
