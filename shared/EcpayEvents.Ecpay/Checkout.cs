using System.Globalization;
using System.Net;
using System.Text;

namespace EcpayEvents.Ecpay;

/// <summary>ChoosePayment values ECPay's AioCheckOut/V5 accepts (the ones this library knows).</summary>
public static class ChoosePayment
{
    public const string All = "ALL";
    public const string Credit = "Credit";
    public const string WebAtm = "WebATM";
    public const string Atm = "ATM";
    public const string Cvs = "CVS";
    public const string Barcode = "BARCODE";
    public const string ApplePay = "ApplePay";
    public const string Twqr = "TWQR";
    public const string Bnpl = "BNPL";

    public static IReadOnlySet<string> Known { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        All, Credit, WebAtm, Atm, Cvs, Barcode, ApplePay, Twqr, Bnpl,
    };
}

/// <summary>A checkout to start. Validated by <see cref="CheckoutForm.Create"/>; each failure names the ECPay field.</summary>
public sealed record CheckoutRequest
{
    /// <summary>1–20 ASCII letters/digits, unique per merchant forever.</summary>
    public required string MerchantTradeNo { get; init; }
    /// <summary>When the order was made; sent as Taiwan wall-clock time. Null: now, from the TimeProvider.</summary>
    public DateTimeOffset? MerchantTradeDate { get; init; }
    /// <summary>Whole TWD.</summary>
    public required long TotalAmount { get; init; }
    public required string TradeDesc { get; init; }
    /// <summary>Items joined by '#' (see <see cref="CheckoutForm.JoinItemNames"/>).</summary>
    public required string ItemName { get; init; }
    /// <summary>Server-to-server payment result notification.</summary>
    public required string ReturnUrl { get; init; }
    public string ChoosePayment { get; init; } = Ecpay.ChoosePayment.All;
    public string? ClientBackUrl { get; init; }
    /// <summary>Where the browser posts the result (not used for ATM/CVS/BARCODE); must differ from ReturnURL.</summary>
    public string? OrderResultUrl { get; init; }
    /// <summary>Where ATM/CVS/BARCODE "number issued" results go.</summary>
    public string? PaymentInfoUrl { get; init; }
    public bool NeedExtraPaidInfo { get; init; }
    /// <summary>ATM: days the virtual account stays valid, 1–60 (ECPay default 3).</summary>
    public int? ExpireDate { get; init; }
    /// <summary>CVS: minutes, 1–43,200 (default 10,080); BARCODE: days, 1–30 (default 7).</summary>
    public int? StoreExpireDate { get; init; }
    /// <summary>'#'-separated methods to hide; only with ChoosePayment ALL.</summary>
    public string? IgnorePayment { get; init; }
    public string? CustomField1 { get; init; }
    public string? CustomField2 { get; init; }
    public string? CustomField3 { get; init; }
    public string? CustomField4 { get; init; }
    /// <summary>ENG, KOR, JPN or CHI; null for Traditional Chinese.</summary>
    public string? Language { get; init; }
}

public sealed class CheckoutValidationException(string field, string message) : ArgumentException(message)
{
    /// <summary>The ECPay field that failed, e.g. <c>MerchantTradeNo</c>.</summary>
    public string Field { get; } = field;
}

/// <summary>A signed AioCheckOut/V5 form: post it from the browser (see <see cref="ToHtml"/>).</summary>
public sealed class CheckoutForm
{
    // Lengths of free text are counted in UTF-8 bytes, not characters: ECPay truncates over-long values
    // in a way that can split a UTF-8 character (breaking the MAC), so staying within the limit in bytes
    // is safe whether ECPay counts bytes or characters. URLs are counted the same way.
    public const int MaxMerchantIdLength = 10;
    public const int MaxTradeDescBytes = 200;
    public const int MaxItemNameBytes = 400;
    public const int MaxUrlBytes = 200;
    public const int MaxCustomFieldBytes = 50;

    /// <summary>
    /// TotalAmount limits per ChoosePayment, inclusive, in TWD — one table for the checkout, the deposit API
    /// and the sandbox.
    /// <list type="bullet">
    /// <item>Documented (ECPay's fee page, www.ecpay.com.tw/Business/Payment_Fees, "單筆訂單建立金額" for
    /// individual members; business/special members can have higher caps, so these are the conservative
    /// figures): Credit 5–199,999; ATM and WebATM 11–49,999; CVS (超商代碼) 33–6,000; BARCODE (超商條碼)
    /// 17–20,000. Credit 5–199,999 and BNPL ≥ 3,000 are also in the protocol notes §2.</item>
    /// <item>Assumed: ApplePay is a card payment, so the card range; BNPL's maximum and TWQR's range are not
    /// documented anywhere we could find, so they are capped at the card maximum; ALL lets the customer
    /// pick, so it allows anything some method takes (1–199,999), and ECPay's page hides methods whose
    /// range excludes the amount.</item>
    /// </list>
    /// </summary>
    public static IReadOnlyDictionary<string, (long Min, long Max)> AmountLimitsByMethod { get; } = new Dictionary<string, (long Min, long Max)>(StringComparer.Ordinal)
    {
        [Ecpay.ChoosePayment.Credit] = (5, 199_999),
        [Ecpay.ChoosePayment.ApplePay] = (5, 199_999),
        [Ecpay.ChoosePayment.WebAtm] = (11, 49_999),
        [Ecpay.ChoosePayment.Atm] = (11, 49_999),
        [Ecpay.ChoosePayment.Cvs] = (33, 6_000),
        [Ecpay.ChoosePayment.Barcode] = (17, 20_000),
        [Ecpay.ChoosePayment.Bnpl] = (3_000, 199_999),
        [Ecpay.ChoosePayment.Twqr] = (1, 199_999),
        [Ecpay.ChoosePayment.All] = (1, 199_999),
    };

    /// <summary>Inclusive TotalAmount limits for a ChoosePayment value (see <see cref="AmountLimitsByMethod"/>); an unknown method gets (1, long.MaxValue).</summary>
    public static (long Min, long Max) AmountLimits(string choosePayment)
        => AmountLimitsByMethod.TryGetValue(choosePayment ?? "", out var limits) ? limits : (1, long.MaxValue);

    /// <summary>Why an amount is refused for a method, naming the limit ("… outside the CVS range 33–6,000 TWD."), or null when accepted.</summary>
    public static string? AmountProblem(string choosePayment, long amount)
    {
        if (amount <= 0)
        {
            return "must be a positive whole number of TWD.";
        }
        var (min, max) = AmountLimits(choosePayment);
        if (amount >= min && amount <= max)
        {
            return null;
        }
        return max == long.MaxValue
            ? string.Create(CultureInfo.InvariantCulture, $"{amount} TWD is below the {choosePayment} minimum of {min:N0} TWD.")
            : string.Create(CultureInfo.InvariantCulture, $"{amount} TWD is outside the {choosePayment} range {min:N0}–{max:N0} TWD.");
    }

    private static readonly string[] Languages = ["ENG", "KOR", "JPN", "CHI"];

    private readonly List<KeyValuePair<string, string>> _fields;

    private CheckoutForm(Uri actionUrl, List<KeyValuePair<string, string>> fields)
    {
        ActionUrl = actionUrl;
        _fields = fields;
    }

    public Uri ActionUrl { get; }

    /// <summary>Every field in the order it is posted, CheckMacValue last.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Fields => _fields;

    public string MerchantTradeNo => _fields.First(f => f.Key == "MerchantTradeNo").Value;

    public string CheckMacValue => _fields[^1].Value;

    /// <summary>Joins item names with '#', ECPay's separator.</summary>
    public static string JoinItemNames(IEnumerable<string> items) => string.Join('#', items);

    /// <summary>Cuts text to at most <paramref name="maxBytes"/> UTF-8 bytes without splitting a character.</summary>
    public static string TruncateUtf8(string text, int maxBytes)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (Encoding.UTF8.GetByteCount(text) <= maxBytes)
        {
            return text;
        }
        var sb = new StringBuilder();
        var bytes = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            if (bytes + rune.Utf8SequenceLength > maxBytes)
            {
                break;
            }
            bytes += rune.Utf8SequenceLength;
            sb.Append(rune.ToString());
        }
        return sb.ToString();
    }

    /// <summary>Validates the request and builds the signed form. Throws <see cref="CheckoutValidationException"/> naming the first bad field.</summary>
    public static CheckoutForm Create(CheckoutRequest request, EcpayCredentials credentials, EcpayUrls endpoints, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(credentials);
        ArgumentNullException.ThrowIfNull(endpoints);
        var errors = Validate(request, credentials);
        if (errors.Count > 0)
        {
            throw errors[0];
        }

        var tradeDate = request.MerchantTradeDate ?? (time ?? TimeProvider.System).GetUtcNow();
        var fields = new List<KeyValuePair<string, string>>
        {
            new("MerchantID", credentials.MerchantId),
            new("MerchantTradeNo", request.MerchantTradeNo),
            new("MerchantTradeDate", TaiwanTime.Format(tradeDate)),
            new("PaymentType", "aio"),
            new("TotalAmount", request.TotalAmount.ToString(CultureInfo.InvariantCulture)),
            new("TradeDesc", request.TradeDesc),
            new("ItemName", request.ItemName),
            new("ReturnURL", request.ReturnUrl),
            new("ChoosePayment", request.ChoosePayment),
            new("EncryptType", "1"),
        };
        void Optional(string key, string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                fields.Add(new(key, value));
            }
        }
        Optional("ClientBackURL", request.ClientBackUrl);
        Optional("OrderResultURL", request.OrderResultUrl);
        Optional("PaymentInfoURL", request.PaymentInfoUrl);
        Optional("NeedExtraPaidInfo", request.NeedExtraPaidInfo ? "Y" : null);
        Optional("ExpireDate", request.ExpireDate?.ToString(CultureInfo.InvariantCulture));
        Optional("StoreExpireDate", request.StoreExpireDate?.ToString(CultureInfo.InvariantCulture));
        Optional("IgnorePayment", request.IgnorePayment);
        Optional("CustomField1", request.CustomField1);
        Optional("CustomField2", request.CustomField2);
        Optional("CustomField3", request.CustomField3);
        Optional("CustomField4", request.CustomField4);
        Optional("Language", request.Language);
        // Sign refuses a separator in any field (Validate already named it for the request's own fields).
        fields.Add(new(Ecpay.CheckMacValue.FieldName, Ecpay.CheckMacValue.Sign(fields, credentials)));
        return new CheckoutForm(endpoints.CheckoutUrl, fields);
    }

    /// <summary>Every rule the request breaks, in field order (empty when valid).</summary>
    public static IReadOnlyList<CheckoutValidationException> Validate(CheckoutRequest request, EcpayCredentials credentials)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(credentials);
        var errors = new List<CheckoutValidationException>();
        void Fail(string field, string message) => errors.Add(new CheckoutValidationException(field, $"{field}: {message}"));

        if (string.IsNullOrEmpty(credentials.MerchantId) || credentials.MerchantId.Length > MaxMerchantIdLength || !credentials.MerchantId.All(char.IsAsciiLetterOrDigit))
        {
            Fail("MerchantID", $"must be 1–{MaxMerchantIdLength} ASCII letters or digits.");
        }
        if (request.MerchantTradeNo is null || request.MerchantTradeNo.Length is < 1 or > 20 || !request.MerchantTradeNo.All(char.IsAsciiLetterOrDigit))
        {
            Fail("MerchantTradeNo", "must be 1–20 ASCII letters or digits.");
        }
        if (request.MerchantTradeDate is { } date && (date.ToOffset(TaiwanTime.Offset).Year is < 2000 or > 9999))
        {
            Fail("MerchantTradeDate", "must be a real date (year 2000 or later).");
        }
        if (!Ecpay.ChoosePayment.Known.Contains(request.ChoosePayment ?? ""))
        {
            Fail("ChoosePayment", $"'{request.ChoosePayment}' is not one of {string.Join(", ", Ecpay.ChoosePayment.Known)}.");
        }
        if (AmountProblem(request.ChoosePayment ?? "", request.TotalAmount) is { } amountProblem)
        {
            Fail("TotalAmount", amountProblem);
        }
        Text("TradeDesc", request.TradeDesc, MaxTradeDescBytes, required: true);
        Text("ItemName", request.ItemName, MaxItemNameBytes, required: true);
        Url("ReturnURL", request.ReturnUrl, required: true);
        Url("ClientBackURL", request.ClientBackUrl, required: false);
        Url("OrderResultURL", request.OrderResultUrl, required: false);
        Url("PaymentInfoURL", request.PaymentInfoUrl, required: false);
        if (!string.IsNullOrEmpty(request.OrderResultUrl) && string.Equals(request.OrderResultUrl, request.ReturnUrl, StringComparison.OrdinalIgnoreCase))
        {
            Fail("OrderResultURL", "must differ from ReturnURL (ECPay's server and the browser post to different places).");
        }
        if (request.ExpireDate is { } expire)
        {
            if (request.ChoosePayment is not (Ecpay.ChoosePayment.Atm or Ecpay.ChoosePayment.All))
            {
                Fail("ExpireDate", "only applies to ATM (ChoosePayment ATM or ALL).");
            }
            else if (expire is < 1 or > 60)
            {
                Fail("ExpireDate", $"{expire} is outside 1–60 days.");
            }
        }
        if (request.StoreExpireDate is { } storeExpire)
        {
            // Minutes for CVS, days for BARCODE: with ALL the unit would be ambiguous, so require the method.
            switch (request.ChoosePayment)
            {
                case Ecpay.ChoosePayment.Cvs when storeExpire is < 1 or > 43_200:
                    Fail("StoreExpireDate", $"{storeExpire} is outside 1–43,200 minutes (CVS).");
                    break;
                case Ecpay.ChoosePayment.Barcode when storeExpire is < 1 or > 30:
                    Fail("StoreExpireDate", $"{storeExpire} is outside 1–30 days (BARCODE).");
                    break;
                case Ecpay.ChoosePayment.Cvs or Ecpay.ChoosePayment.Barcode:
                    break;
                default:
                    Fail("StoreExpireDate", "only applies with ChoosePayment CVS (minutes) or BARCODE (days).");
                    break;
            }
        }
        if (!string.IsNullOrEmpty(request.IgnorePayment))
        {
            if (request.ChoosePayment != Ecpay.ChoosePayment.All)
            {
                Fail("IgnorePayment", "only applies with ChoosePayment ALL.");
            }
            else if (request.IgnorePayment.Split('#').Any(p => p == Ecpay.ChoosePayment.All || !Ecpay.ChoosePayment.Known.Contains(p)))
            {
                Fail("IgnorePayment", $"'{request.IgnorePayment}' must be '#'-separated payment methods (not ALL).");
            }
        }
        Text("CustomField1", request.CustomField1, MaxCustomFieldBytes, required: false);
        Text("CustomField2", request.CustomField2, MaxCustomFieldBytes, required: false);
        Text("CustomField3", request.CustomField3, MaxCustomFieldBytes, required: false);
        Text("CustomField4", request.CustomField4, MaxCustomFieldBytes, required: false);
        if (!string.IsNullOrEmpty(request.Language) && !Languages.Contains(request.Language))
        {
            Fail("Language", $"'{request.Language}' is not one of {string.Join(", ", Languages)}.");
        }
        return errors;

        void Text(string field, string? value, int maxBytes, bool required)
        {
            if (string.IsNullOrEmpty(value))
            {
                if (required)
                {
                    Fail(field, "is required.");
                }
                return;
            }
            if (!IsWellFormed(value))
            {
                Fail(field, "contains an unpaired surrogate (not encodable as UTF-8).");
                return;
            }
            // Free text is signed: no '&', '=' or control character, which could change how the signed string splits.
            if (Ecpay.CheckMacValue.SeparatorProblem(value) is { } separator)
            {
                Fail(field, separator);
                return;
            }
            var bytes = Encoding.UTF8.GetByteCount(value);
            if (bytes > maxBytes)
            {
                Fail(field, $"is {bytes} UTF-8 bytes; the limit is {maxBytes} (counted in bytes so ECPay never truncates it mid-character).");
            }
        }

        void Url(string field, string? value, bool required)
        {
            if (string.IsNullOrEmpty(value))
            {
                if (required)
                {
                    Fail(field, "is required.");
                }
                return;
            }
            // Signed too: a query string with '&' or '=' is refused like any other separator.
            if (Ecpay.CheckMacValue.SeparatorProblem(value) is { } separator)
            {
                Fail(field, separator);
            }
            else if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || value.Any(char.IsWhiteSpace))
            {
                Fail(field, $"'{value}' is not an absolute http(s) URL.");
            }
            else if (Encoding.UTF8.GetByteCount(value) > MaxUrlBytes)
            {
                Fail(field, $"is longer than {MaxUrlBytes} bytes.");
            }
        }
    }

    private static bool IsWellFormed(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(value[i]))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The page's only script, always the same: a Content-Security-Policy can allow it by its hash.</summary>
    public const string AutoSubmitScript = "document.getElementById('ecpay-checkout').submit();";

    /// <summary>
    /// A complete HTML page whose form posts itself to ECPay. Every attribute value is HTML-encoded.
    /// Pass a CSP nonce if the page is served with a script-src nonce policy.
    /// </summary>

    public string ToHtml(string? cspNonce = null)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Redirecting to ECPay…</title></head><body>\n");
        html.Append("<form id=\"ecpay-checkout\" method=\"post\" accept-charset=\"UTF-8\" action=\"")
            .Append(WebUtility.HtmlEncode(ActionUrl.AbsoluteUri)).Append("\">\n");
        foreach (var (key, value) in _fields)
        {
            html.Append("<input type=\"hidden\" name=\"").Append(WebUtility.HtmlEncode(key))
                .Append("\" value=\"").Append(WebUtility.HtmlEncode(value)).Append("\">\n");
        }
        html.Append("<noscript><button type=\"submit\">Continue to ECPay</button></noscript>\n</form>\n<script");
        if (!string.IsNullOrEmpty(cspNonce))
        {
            html.Append(" nonce=\"").Append(WebUtility.HtmlEncode(cspNonce)).Append('"');
        }
        html.Append('>').Append(AutoSubmitScript).Append("</script>\n</body></html>\n");
        return html.ToString();
    }
}
