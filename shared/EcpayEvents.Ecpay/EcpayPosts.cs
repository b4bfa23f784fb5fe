using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace EcpayEvents.Ecpay;

/// <summary>A post or answer from ECPay that is well-formed as a form but not as the message it claims to be.</summary>
public sealed class EcpayPostException(string field, string message) : FormatException(message)
{
    /// <summary>The offending field's name.</summary>
    public string Field { get; } = field;
}

/// <summary>
/// The fields shared by the ReturnURL notification and the browser's OrderResultURL post.
/// Typed views only: the MAC is verified over <see cref="Form"/>, the raw fields as posted.
/// </summary>
public abstract record TradeResultPost
{
    public required EcpayForm Form { get; init; }
    public required string MerchantId { get; init; }
    public required string MerchantTradeNo { get; init; }
    public string StoreId { get; init; } = "";
    /// <summary>1 = paid; anything else is not a payment.</summary>
    public required int RtnCode { get; init; }
    public required string RtnMsg { get; init; }
    /// <summary>ECPay's own trade number.</summary>
    public required string TradeNo { get; init; }
    public required long TradeAmt { get; init; }
    /// <summary>Null when nothing was paid, or when the value is not a date this reader knows (the raw text stays in <see cref="Form"/>).</summary>
    public DateTimeOffset? PaymentDate { get; init; }
    public string PaymentType { get; init; } = "";
    /// <summary>Informational; null when absent or not a number (the raw text stays in <see cref="Form"/>).</summary>
    public decimal? PaymentTypeChargeFee { get; init; }
    /// <summary>Informational; null when absent or not a date this reader knows.</summary>
    public DateTimeOffset? TradeDate { get; init; }
    /// <summary>True for a payment simulated from ECPay's back office: no money moved; never fulfil it.</summary>
    public bool SimulatePaid { get; init; }
    public string CustomField1 { get; init; } = "";
    public string CustomField2 { get; init; } = "";
    public string CustomField3 { get; init; } = "";
    public string CustomField4 { get; init; } = "";

    /// <summary>RtnCode is 1 and the payment was not simulated.</summary>
    public bool IsRealPayment => RtnCode == 1 && !SimulatePaid;

    private protected static void Read(FieldReader r, out string merchantId, out string merchantTradeNo, out int rtnCode, out string rtnMsg, out string tradeNo, out long tradeAmt)
    {
        merchantId = r.Required("MerchantID");
        merchantTradeNo = r.Required("MerchantTradeNo");
        rtnCode = r.RequiredInt("RtnCode");
        rtnMsg = r.Optional("RtnMsg");
        tradeNo = r.Required("TradeNo");
        tradeAmt = r.RequiredAmount("TradeAmt");
    }
}

/// <summary>The server-to-server payment result posted to ReturnURL (付款結果通知, developers.ecpay.com.tw/?p=2878).</summary>
public sealed record PaymentResult : TradeResultPost
{
    public static PaymentResult Parse(EcpayForm form)
    {
        var r = new FieldReader(form);
        Read(r, out var merchantId, out var merchantTradeNo, out var rtnCode, out var rtnMsg, out var tradeNo, out var tradeAmt);
        return new PaymentResult
        {
            Form = form,
            MerchantId = merchantId,
            MerchantTradeNo = merchantTradeNo,
            StoreId = r.Optional("StoreID"),
            RtnCode = rtnCode,
            RtnMsg = rtnMsg,
            TradeNo = tradeNo,
            TradeAmt = tradeAmt,
            PaymentDate = r.OptionalDate("PaymentDate"),
            PaymentType = r.Optional("PaymentType"),
            PaymentTypeChargeFee = r.OptionalDecimal("PaymentTypeChargeFee"),
            TradeDate = r.OptionalDate("TradeDate"),
            SimulatePaid = r.Flag("SimulatePaid"),
            CustomField1 = r.Optional("CustomField1"),
            CustomField2 = r.Optional("CustomField2"),
            CustomField3 = r.Optional("CustomField3"),
            CustomField4 = r.Optional("CustomField4"),
        };
    }

    public static bool TryParse(EcpayForm form, [NotNullWhen(true)] out PaymentResult? result, [NotNullWhen(false)] out string? error)
        => FieldReader.Try(() => Parse(form), out result, out error);
}

/// <summary>The result the browser posts to OrderResultURL: same fields as <see cref="PaymentResult"/>; informational only.</summary>
public sealed record OrderResult : TradeResultPost
{
    public static OrderResult Parse(EcpayForm form)
    {
        var p = PaymentResult.Parse(form);
        return new OrderResult
        {
            Form = p.Form,
            MerchantId = p.MerchantId,
            MerchantTradeNo = p.MerchantTradeNo,
            StoreId = p.StoreId,
            RtnCode = p.RtnCode,
            RtnMsg = p.RtnMsg,
            TradeNo = p.TradeNo,
            TradeAmt = p.TradeAmt,
            PaymentDate = p.PaymentDate,
            PaymentType = p.PaymentType,
            PaymentTypeChargeFee = p.PaymentTypeChargeFee,
            TradeDate = p.TradeDate,
            SimulatePaid = p.SimulatePaid,
            CustomField1 = p.CustomField1,
            CustomField2 = p.CustomField2,
            CustomField3 = p.CustomField3,
            CustomField4 = p.CustomField4,
        };
    }

    public static bool TryParse(EcpayForm form, [NotNullWhen(true)] out OrderResult? result, [NotNullWhen(false)] out string? error)
        => FieldReader.Try(() => Parse(form), out result, out error);
}

/// <summary>
/// The "payment number issued" post to PaymentInfoURL (取號結果通知, developers.ecpay.com.tw/?p=2881, field RtnCode):
/// RtnCode 2 (ATM) or 10100073 (CVS/BARCODE) means the customer can now pay — not that they paid. A BNPL
/// application (裕富無卡分期申請結果通知, ?p=37517) comes here too: RtnCode 2 means "applying", with no account or ExpireDate.
/// </summary>
public sealed record PaymentInfo
{
    public const int AtmNumberIssued = 2;
    public const int CvsOrBarcodeNumberIssued = 10100073;

    public required EcpayForm Form { get; init; }
    public required string MerchantId { get; init; }
    public required string MerchantTradeNo { get; init; }
    public string StoreId { get; init; } = "";
    public required int RtnCode { get; init; }
    public required string RtnMsg { get; init; }
    public required string TradeNo { get; init; }
    public required long TradeAmt { get; init; }
    public string PaymentType { get; init; } = "";
    public DateTimeOffset? TradeDate { get; init; }
    /// <summary>ATM: bank code of the virtual account.</summary>
    public string BankCode { get; init; } = "";
    /// <summary>ATM: the virtual account number.</summary>
    public string VAccount { get; init; } = "";
    /// <summary>CVS: the payment code.</summary>
    public string PaymentNo { get; init; } = "";
    public string Barcode1 { get; init; } = "";
    public string Barcode2 { get; init; } = "";
    public string Barcode3 { get; init; } = "";
    /// <summary>Until when the customer can pay (a date-only ATM value means the end of that day, Taiwan time).</summary>
    public DateTimeOffset? ExpireDate { get; init; }
    public string CustomField1 { get; init; } = "";
    public string CustomField2 { get; init; } = "";
    public string CustomField3 { get; init; } = "";
    public string CustomField4 { get; init; } = "";

    public bool IsNumberIssued => RtnCode is AtmNumberIssued or CvsOrBarcodeNumberIssued;

    /// <summary>A BNPL (裕富無卡分期) PaymentType, such as BNPL_URICH.</summary>
    public static bool IsBnpl(string? paymentType) => paymentType?.StartsWith("BNPL_", StringComparison.Ordinal) == true;

    public static PaymentInfo Parse(EcpayForm form)
    {
        var r = new FieldReader(form);
        var rtnCode = r.RequiredInt("RtnCode");
        var bnpl = IsBnpl(r.Optional("PaymentType"));
        var info = new PaymentInfo
        {
            Form = form,
            MerchantId = r.Required("MerchantID"),
            MerchantTradeNo = r.Required("MerchantTradeNo"),
            StoreId = r.Optional("StoreID"),
            RtnCode = rtnCode,
            RtnMsg = r.Optional("RtnMsg"),
            TradeNo = r.Required("TradeNo"),
            TradeAmt = r.RequiredAmount("TradeAmt"),
            PaymentType = r.Optional("PaymentType"),
            TradeDate = r.OptionalDate("TradeDate"),
            BankCode = rtnCode == AtmNumberIssued && !bnpl ? r.Required("BankCode") : r.Optional("BankCode"),
            VAccount = rtnCode == AtmNumberIssued && !bnpl ? r.Required("vAccount") : r.Optional("vAccount"),
            PaymentNo = r.Optional("PaymentNo"),
            Barcode1 = r.Optional("Barcode1"),
            Barcode2 = r.Optional("Barcode2"),
            Barcode3 = r.Optional("Barcode3"),
            ExpireDate = r.IsPresent("ExpireDate") || (!bnpl && rtnCode is AtmNumberIssued or CvsOrBarcodeNumberIssued)
                ? r.RequiredExpireDate("ExpireDate")
                : null,
            CustomField1 = r.Optional("CustomField1"),
            CustomField2 = r.Optional("CustomField2"),
            CustomField3 = r.Optional("CustomField3"),
            CustomField4 = r.Optional("CustomField4"),
        };
        if (rtnCode == CvsOrBarcodeNumberIssued && info.PaymentNo.Length == 0 && info.Barcode1.Length == 0)
        {
            throw new EcpayPostException("PaymentNo", "RtnCode 10100073 (CVS/BARCODE number issued) needs a PaymentNo or Barcode1–3; both are empty.");
        }
        return info;
    }

    public static bool TryParse(EcpayForm form, [NotNullWhen(true)] out PaymentInfo? result, [NotNullWhen(false)] out string? error)
        => FieldReader.Try(() => Parse(form), out result, out error);
}

/// <summary>
/// Reads named fields from a form, throwing <see cref="EcpayPostException"/> that names the field.
/// Strict for what decides something (ids, codes, amounts, flags, ExpireDate); lenient for the
/// informational dates and fees (<see cref="OptionalDate"/>, <see cref="OptionalDecimal"/>).
/// </summary>
internal sealed class FieldReader(IReadOnlyList<KeyValuePair<string, string>> fields)
{
    private readonly Dictionary<string, string> _byKey = fields.GroupBy(f => f.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().Value, StringComparer.Ordinal);

    public bool IsPresent(string name) => _byKey.ContainsKey(name);

    public string Optional(string name) => _byKey.GetValueOrDefault(name) ?? "";

    public string Required(string name)
    {
        if (!_byKey.TryGetValue(name, out var value))
        {
            throw new EcpayPostException(name, $"{name} is missing.");
        }
        if (value.Length == 0)
        {
            throw new EcpayPostException(name, $"{name} is empty.");
        }
        return value;
    }

    public int RequiredInt(string name)
    {
        var text = Required(name);
        return int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new EcpayPostException(name, $"{name} '{text}' is not an integer.");
    }

    /// <summary>A TWD amount: a non-negative integer, no decimals, no separators.</summary>
    public long RequiredAmount(string name) => Amount(name, Required(name));

    /// <summary>An amount, or null when absent or empty.</summary>
    public long? OptionalAmount(string name) => Optional(name) is { Length: > 0 } text ? Amount(name, text) : null;

    private static long Amount(string name, string text) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new EcpayPostException(name, $"{name} '{text}' is not a whole non-negative amount.");

    /// <summary>
    /// An informational number (fees): null when absent, empty or not a number. Lenient on purpose: a
    /// value the settlement rules never use must not make a verified result (money received) unreadable.
    /// </summary>
    public decimal? OptionalDecimal(string name) =>
        decimal.TryParse(Optional(name), NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            ? value
            : null;

    /// <summary>
    /// A Taiwan time (PaymentDate, TradeDate): <c>yyyy/MM/dd HH:mm:ss</c> or the variants seen in the wild
    /// (no seconds, no leading zeros, dashes); null when absent, empty or none of them. Lenient on purpose:
    /// callers that need an instant fall back (Settlement: to the time the post was received).
    /// </summary>
    public DateTimeOffset? OptionalDate(string name) => EcpayDates.TryParseLenient(Optional(name), out var value) ? value : null;

    public DateTimeOffset RequiredExpireDate(string name)
    {
        var text = Required(name);
        return TaiwanTime.TryParseDateOrDateTime(text, out var value)
            ? value
            : throw new EcpayPostException(name, $"{name} '{text}' is not a date ({TaiwanTime.DateFormat} or {TaiwanTime.DateTimeFormat}).");
    }

    /// <summary>"1" true; "0", empty or absent false; anything else rejected.</summary>
    public bool Flag(string name) => Optional(name) switch
    {
        "1" => true,
        "0" or "" => false,
        var other => throw new EcpayPostException(name, $"{name} '{other}' is neither 0 nor 1."),
    };

    public static bool Try<T>(Func<T> parse, [NotNullWhen(true)] out T? result, [NotNullWhen(false)] out string? error)
        where T : class
    {
        try
        {
            result = parse();
            error = null;
            return true;
        }
        catch (EcpayPostException e)
        {
            result = null;
            error = e.Message;
            return false;
        }
    }
}
