using System.Globalization;
using System.Text;

namespace EcpayEvents.Ecpay;

/// <summary>Which of ECPay's signed messages a set of fields claims to be.</summary>
public enum EcpayPostKind
{
    /// <summary>The server-to-server payment result (ReturnURL).</summary>
    ReturnUrl,
    /// <summary>The browser's copy of the payment result (OrderResultURL): the same fields as ReturnURL.</summary>
    OrderResultUrl,
    /// <summary>"Payment number issued" or "BNPL application" (PaymentInfoURL): the fields depend on the PaymentType (ATM, CVS/BARCODE or BNPL).</summary>
    PaymentInfoUrl,
    /// <summary>The answer of QueryTradeInfo/V5.</summary>
    QueryTradeInfo,
}

/// <summary>
/// The allowlist of what ECPay sends: for each message, exactly the field names ECPay documents (for the
/// options our checkout uses) and each field's format. Anything else is refused, even under a valid
/// CheckMacValue: a post whose fields are not ECPay's is either not ECPay's or something new that an
/// operator should look at — and the payment's timeout asks ECPay (QueryTradeInfo) anyway, so a genuine
/// post refused here is still credited then.
/// <list type="bullet">
/// <item>No value may carry '&amp;', '=' or a control character (<see cref="CheckMacValue.SeparatorProblem"/>):
/// the fields then split only one way, so a string the server signed can never be read as one of these.</item>
/// <item>Not accepted: the extra card fields of <c>NeedExtraPaidInfo=Y</c> (our checkout never asks for
/// them), and <c>PlatformID</c> (only for ECPay platform merchants; our checkout never sends it, so ECPay
/// does not post it).</item>
/// <item>Dates are read as <see cref="EcpayDates.TryParseLenient"/> reads them (the variants seen in the wild).</item>
/// </list>
/// Notifications (ReturnURL, PaymentInfoURL), PaymentsApi (OrderResultURL) and Settlement (every message,
/// again) all check this one definition.
/// </summary>
public static class EcpayPostFields
{
    private sealed record Format(string Description, Func<string, bool> Accepts);

    private static readonly Format MerchantId = new("1–10 ASCII letters or digits", v => v.Length is >= 1 and <= 10 && v.All(char.IsAsciiLetterOrDigit));
    private static readonly Format MerchantTradeNo = new("1–20 ASCII letters or digits", v => v.Length is >= 1 and <= 20 && v.All(char.IsAsciiLetterOrDigit));
    private static readonly Format StoreId = new("up to 20 ASCII letters, digits, '-' or '_'", v => v.Length <= 20 && v.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'));
    private static readonly Format Code = new("an integer", v => int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _) && v.Length <= 11 && v[0] != '+');
    private static readonly Format TradeNo = new("up to 20 digits", v => v.Length <= 20 && v.All(char.IsAsciiDigit));
    private static readonly Format Amount = new("a whole number of TWD", v => v.Length is >= 1 and <= 10 && v.All(char.IsAsciiDigit));
    private static readonly Format OptionalAmount = new("empty or a whole number of TWD", v => v.Length <= 10 && v.All(char.IsAsciiDigit));
    private static readonly Format Fee = new("empty or a non-negative number", v => v.Length == 0 || (v.Length <= 16 && decimal.TryParse(v, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out _)));
    private static readonly Format Date = new("empty or a date and time (yyyy/MM/dd HH:mm:ss)", v => v.Length == 0 || (v.Length <= 25 && EcpayDates.TryParseLenient(v, out _)));
    private static readonly Format ExpireDate = new("empty or a date (yyyy/MM/dd [HH:mm:ss])", v => v.Length == 0 || TaiwanTime.TryParseDateOrDateTime(v, out _));
    private static readonly Format Flag = new("0 or 1", v => v is "0" or "1");
    private static readonly Format PaymentType = new("empty or a payment type such as Credit_CreditCard", v => v.Length == 0
        || (v.Length <= 30 && char.IsAsciiLetter(v[0]) && v.All(c => char.IsAsciiLetterOrDigit(c) || c == '_')));
    private static readonly Format BankCode = new("up to 3 digits", v => v.Length <= 3 && v.All(char.IsAsciiDigit));
    private static readonly Format VAccount = new("up to 16 digits", v => v.Length <= 16 && v.All(char.IsAsciiDigit));
    private static readonly Format PaymentCode = new("up to 20 ASCII letters or digits", v => v.Length <= 20 && v.All(char.IsAsciiLetterOrDigit));
    private static readonly Format BnplTradeNo = new("up to 64 ASCII letters or digits", v => v.Length <= 64 && v.All(char.IsAsciiLetterOrDigit));
    private static readonly Format Installments = new("up to 2 digits", v => v.Length <= 2 && v.All(char.IsAsciiDigit));
    private static readonly Format Mac = new("64 upper-case hex digits (SHA256)", v => v.Length == 64 && v.All(c => char.IsAsciiDigit(c) || c is >= 'A' and <= 'F'));
    private static Format Text(int maxBytes) => new($"text of at most {maxBytes} UTF-8 bytes", v => Encoding.UTF8.GetByteCount(v) <= maxBytes);

    private static readonly Dictionary<string, Format> Result = new(StringComparer.Ordinal)
    {
        ["MerchantID"] = MerchantId,
        ["MerchantTradeNo"] = MerchantTradeNo,
        ["StoreID"] = StoreId,
        ["RtnCode"] = Code,
        ["RtnMsg"] = Text(200),
        ["TradeNo"] = TradeNo,
        ["TradeAmt"] = Amount,
        ["PaymentType"] = PaymentType,
        ["TradeDate"] = Date,
        ["CustomField1"] = Text(CheckoutForm.MaxCustomFieldBytes),
        ["CustomField2"] = Text(CheckoutForm.MaxCustomFieldBytes),
        ["CustomField3"] = Text(CheckoutForm.MaxCustomFieldBytes),
        ["CustomField4"] = Text(CheckoutForm.MaxCustomFieldBytes),
        [CheckMacValue.FieldName] = Mac,
    };

    // 付款結果通知 (developers.ecpay.com.tw/?p=2878): ReturnURL and OrderResultURL carry these.
    private static readonly Dictionary<string, Format> Paid = With(Result, new()
    {
        ["PaymentDate"] = Date,
        ["PaymentTypeChargeFee"] = Fee,
        ["SimulatePaid"] = Flag,
    });

    // 取號結果通知 (developers.ecpay.com.tw/?p=2881): ATM (RtnCode 2) and CVS/BARCODE (RtnCode 10100073).
    private static readonly Dictionary<string, Format> AtmNumber = With(Result, new()
    {
        ["BankCode"] = BankCode,
        ["vAccount"] = VAccount,
        ["ExpireDate"] = ExpireDate,
    });

    private static readonly Dictionary<string, Format> StoreNumber = With(Result, new()
    {
        ["PaymentNo"] = PaymentCode,
        ["ExpireDate"] = ExpireDate,
        ["Barcode1"] = PaymentCode,
        ["Barcode2"] = PaymentCode,
        ["Barcode3"] = PaymentCode,
    });

    // 裕富無卡分期申請結果通知 (developers.ecpay.com.tw/?p=37517): the common fields plus BNPLTradeNo and BNPLInstallment.
    private static readonly Dictionary<string, Format> BnplApplication = With(Result, new()
    {
        ["BNPLTradeNo"] = BnplTradeNo,
        ["BNPLInstallment"] = Installments,
    });

    // 查詢訂單 QueryTradeInfo/V5 (developers.ecpay.com.tw/?p=2890): the answer's fields.
    private static readonly Dictionary<string, Format> QueryAnswer = new(StringComparer.Ordinal)
    {
        ["MerchantID"] = MerchantId,
        ["MerchantTradeNo"] = MerchantTradeNo,
        ["StoreID"] = StoreId,
        ["TradeNo"] = TradeNo,
        ["TradeAmt"] = OptionalAmount,
        ["PaymentDate"] = Date,
        ["PaymentType"] = PaymentType,
        ["HandlingCharge"] = Fee,
        ["PaymentTypeChargeFee"] = Fee,
        ["TradeDate"] = Date,
        ["TradeStatus"] = Code,
        ["ItemName"] = Text(CheckoutForm.MaxItemNameBytes),
        ["CustomField1"] = Text(CheckoutForm.MaxCustomFieldBytes),
        ["CustomField2"] = Text(CheckoutForm.MaxCustomFieldBytes),
        ["CustomField3"] = Text(CheckoutForm.MaxCustomFieldBytes),
        ["CustomField4"] = Text(CheckoutForm.MaxCustomFieldBytes),
        [CheckMacValue.FieldName] = Mac,
    };

    // QueryTradeInfo's answer also carries details of how the order was paid (ECPay's own SDK reads them:
    // WebATM, ATM and CVS/BARCODE accounts and codes, and the card authorisation fields, card4no/card6no being
    // the last 4 and first 6 digits only). Accepted so a genuine answer — the fallback of every refused post —
    // is never refused for them; the rules read none of them.
    private static readonly string[] QueryAnswerDetails =
    [
        "WebATMAccBank", "WebATMAccNo", "WebATMBankName", "ATMAccBank", "ATMAccNo", "PaymentNo", "PayFrom",
        "gwsr", "process_date", "auth_code", "amount", "stage", "stast", "staed", "eci", "card4no", "card6no",
        "red_dan", "red_de_amt", "red_ok_amt", "red_yet", "PeriodType", "Frequency", "ExecTimes", "PeriodAmount",
        "TotalSuccessTimes", "TotalSuccessAmount",
    ];

    static EcpayPostFields()
    {
        foreach (var name in QueryAnswerDetails) QueryAnswer.Add(name, Text(50));
    }

    private static Dictionary<string, Format> With(Dictionary<string, Format> common, Dictionary<string, Format> more)
    {
        var all = new Dictionary<string, Format>(common, StringComparer.Ordinal);
        foreach (var (name, format) in more) all.Add(name, format);
        return all;
    }

    /// <summary>
    /// The field names ECPay sends for <paramref name="kind"/>; for PaymentInfoURL, for the given PaymentType
    /// (ATM_… or CVS_…/BARCODE_…; empty for any other).
    /// </summary>
    public static IReadOnlySet<string> Allowed(EcpayPostKind kind, string? paymentType = null) =>
        Formats(kind, paymentType ?? "")?.Keys.ToHashSet(StringComparer.Ordinal) ?? [];

    /// <summary>Why these fields are not a message of <paramref name="kind"/> as ECPay sends it, or null when they are.</summary>
    public static string? Problem(EcpayPostKind kind, IEnumerable<KeyValuePair<string, string>> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var list = fields as IReadOnlyCollection<KeyValuePair<string, string>> ?? fields.ToList();
        var paymentType = list.FirstOrDefault(f => f.Key == "PaymentType").Value ?? "";
        if (Formats(kind, paymentType) is not { } formats)
        {
            return $"PaymentType '{Printable(paymentType)}' is not an ATM, CVS, BARCODE or BNPL payment type (PaymentInfoURL).";
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, value) in list)
        {
            if (!formats.TryGetValue(name, out var format))
            {
                return $"unexpected field '{Printable(name)}' (not one ECPay sends to {Describe(kind)}).";
            }
            if (!seen.Add(name))
            {
                return $"{name} appears twice.";
            }
            if (CheckMacValue.SeparatorProblem(value ?? "") is { } separator)
            {
                return $"{name} {separator}";
            }
            if (!format.Accepts(value ?? ""))
            {
                return $"{name} is not {format.Description}.";
            }
        }
        return null;
    }

    private static Dictionary<string, Format>? Formats(EcpayPostKind kind, string paymentType) => kind switch
    {
        EcpayPostKind.ReturnUrl or EcpayPostKind.OrderResultUrl => Paid,
        EcpayPostKind.QueryTradeInfo => QueryAnswer,
        EcpayPostKind.PaymentInfoUrl when paymentType.StartsWith("ATM_", StringComparison.Ordinal) => AtmNumber,
        EcpayPostKind.PaymentInfoUrl when paymentType.StartsWith("CVS_", StringComparison.Ordinal) || paymentType.StartsWith("BARCODE_", StringComparison.Ordinal) => StoreNumber,
        EcpayPostKind.PaymentInfoUrl when PaymentInfo.IsBnpl(paymentType) => BnplApplication,
        EcpayPostKind.PaymentInfoUrl => null,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown ECPay message."),
    };

    private static string Describe(EcpayPostKind kind) => kind switch
    {
        EcpayPostKind.ReturnUrl => "ReturnURL",
        EcpayPostKind.OrderResultUrl => "OrderResultURL",
        EcpayPostKind.PaymentInfoUrl => "PaymentInfoURL",
        _ => "a QueryTradeInfo answer",
    };

    // A name or value from the post, safe to log: at most 40 characters, anything but printable ASCII escaped.
    private static string Printable(string text)
    {
        var sb = new StringBuilder();
        foreach (var c in text.Length > 40 ? text[..40] : text)
        {
            if (c is >= ' ' and <= '~' and not '\'' and not '\\') sb.Append(c);
            else sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
        }
        return text.Length > 40 ? sb.Append('…').ToString() : sb.ToString();
    }
}
