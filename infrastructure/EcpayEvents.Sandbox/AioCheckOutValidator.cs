using System.Globalization;
using System.Text;
using EcpayEvents.Sandbox.Protocol;

namespace EcpayEvents.Sandbox;

/// <summary>An AioCheckOut/V5 rejection, shown like ECPay's error page: 訊息代碼 Message code / 訊息說明 Note for message.</summary>
public sealed record CheckoutError(string Code, string Message);

/// <summary>
/// Checks a checkout form the way ECPay stage does (AioCheckOut/V5, developers.ecpay.com.tw/?p=2864, each field's
/// rule), with the sandbox's own rules and tables. Codes: see README.md (10200073 and 10300023 are ECPay's own;
/// the others are the sandbox's, in ECPay's style).
/// </summary>
public static class AioCheckOutValidator
{
    public static class Codes
    {
        public const string Unreadable = "10200040";
        public const string Missing = "10200041";
        public const string MerchantId = "10200042";
        public const string CheckMacValue = "10200073";
        public const string MerchantTradeNo = "10200044";
        public const string DuplicateMerchantTradeNo = "10200045";
        public const string MerchantTradeDate = "10200046";
        public const string TotalAmount = "10200048";
        public const string PaymentTypeOrEncryptType = "10200049";
        public const string Url = "10200050";
        public const string TextTooLong = "10200051";
        public const string Expiry = "10200053";
        public const string NoPaymentMethod = "10300023";
    }

    private static readonly string[] Required =
        ["MerchantID", "MerchantTradeNo", "MerchantTradeDate", "PaymentType", "TotalAmount", "TradeDesc", "ItemName", "ReturnURL", "ChoosePayment", "EncryptType", "CheckMacValue"];

    /// <summary>Everything except MerchantTradeNo reuse (the store checks that atomically when it records the order).</summary>
    public static CheckoutError? Validate(string body, SandboxOptions options, out FormBody? form)
    {
        if (!FormBody.TryRead(body, out form, out var parseError))
            return new(Codes.Unreadable, $"Parameter Error. {parseError}");

        // ECPay checks the merchant and the signature before it looks at anything else.
        var merchantId = form["MerchantID"];
        if (string.IsNullOrEmpty(merchantId)) return new(Codes.Missing, "Parameter Error. MerchantID is required.");
        if (merchantId != options.MerchantId) return new(Codes.MerchantId, "MerchantID Error.");
        if (!SandboxMac.Verify(form.Fields, options.HashKey, options.HashIv)) return new(Codes.CheckMacValue, "CheckMacValue Error.");

        foreach (var key in Required)
            if (string.IsNullOrEmpty(form[key])) return new(Codes.Missing, $"Parameter Error. {key} is required.");

        var tradeNo = form["MerchantTradeNo"]!;
        if (tradeNo.Length > 20 || !tradeNo.All(char.IsAsciiLetterOrDigit))
            return new(Codes.MerchantTradeNo, "MerchantTradeNo Error. 1–20 letters or digits.");
        if (!TaiwanClock.IsDateTime(form["MerchantTradeDate"]))
            return new(Codes.MerchantTradeDate, "MerchantTradeDate Error. Format yyyy/MM/dd HH:mm:ss.");
        if (form["PaymentType"] != "aio") return new(Codes.PaymentTypeOrEncryptType, "PaymentType Error.");
        if (form["EncryptType"] != "1") return new(Codes.PaymentTypeOrEncryptType, "EncryptType Error.");

        var choose = form["ChoosePayment"]!;
        if (!AioRules.ChoosePayments.Contains(choose)) return new(Codes.NoPaymentMethod, "本次交易未提供任何付款方式，請與商店聯繫確認。 (ChoosePayment Error.)");
        if (!long.TryParse(form["TotalAmount"], NumberStyles.None, CultureInfo.InvariantCulture, out var amount) || amount <= 0)
            return new(Codes.TotalAmount, "TotalAmount Error. A positive whole number of TWD.");
        var (min, max) = AioRules.AmountRange(choose);
        if (amount < min || amount > max)
            return new(Codes.TotalAmount, string.Create(CultureInfo.InvariantCulture, $"TotalAmount Error. {choose} accepts {min:N0}–{max:N0} TWD."));

        if (Bytes(form["TradeDesc"]) > AioRules.TradeDescMax) return new(Codes.TextTooLong, "TradeDesc Error. At most 200.");
        if (Bytes(form["ItemName"]) > AioRules.ItemNameMax) return new(Codes.TextTooLong, "ItemName Error. At most 400.");
        foreach (var key in new[] { "CustomField1", "CustomField2", "CustomField3", "CustomField4" })
            if (Bytes(form[key]) > AioRules.CustomFieldMax) return new(Codes.TextTooLong, $"{key} Error. At most 50.");

        foreach (var key in new[] { "ReturnURL", "OrderResultURL", "ClientBackURL", "PaymentInfoURL" })
        {
            var url = form[key];
            if (string.IsNullOrEmpty(url)) continue;
            if (Bytes(url) > AioRules.UrlMax || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
                return new(Codes.Url, $"{key} Error.");
        }
        if (form["OrderResultURL"] is { Length: > 0 } orderResult && string.Equals(orderResult, form["ReturnURL"], StringComparison.OrdinalIgnoreCase))
            return new(Codes.Url, "OrderResultURL Error. Must differ from ReturnURL.");

        // ExpireDate (ATM): 1–60 days.
        if (form["ExpireDate"] is { Length: > 0 } expire && (!int.TryParse(expire, NumberStyles.None, CultureInfo.InvariantCulture, out var days) || days is < 1 or > 60))
            return new(Codes.Expiry, "ExpireDate Error. 1–60 days.");
        if (form["StoreExpireDate"] is { Length: > 0 } storeExpire)
        {
            var limit = choose == AioRules.Barcode ? 30 : 43_200; // StoreExpireDate: BARCODE 1–30 days, CVS 1–43,200 minutes
            if (!int.TryParse(storeExpire, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1 || n > limit)
                return new(Codes.Expiry, "StoreExpireDate Error.");
        }
        return null;
    }

    private static int Bytes(string? s) => s is null ? 0 : Encoding.UTF8.GetByteCount(s);
}
