using EcpayEvents.Ecpay;

namespace EcpayEvents.Benchmarks;

/// <summary>A typical paid ReturnURL post (16 fields + CheckMacValue, CJK in RtnMsg and CustomField1).</summary>
internal static class Samples
{
    public static readonly EcpayCredentials Credentials = EcpayCredentials.Stage;

    public static readonly KeyValuePair<string, string>[] ReturnUrlFields =
    [
        new("MerchantID", "3002607"),
        new("MerchantTradeNo", "Dep20250101A"),
        new("StoreID", ""),
        new("RtnCode", "1"),
        new("RtnMsg", "交易成功"),
        new("TradeNo", "2501011200001234"),
        new("TradeAmt", "500"),
        new("PaymentDate", "2025/01/01 12:05:09"),
        new("PaymentType", "Credit_CreditCard"),
        new("PaymentTypeChargeFee", "12.5"),
        new("TradeDate", "2025/01/01 12:00:00"),
        new("SimulatePaid", "0"),
        new("CustomField1", "儲值 500"),
        new("CustomField2", ""),
        new("CustomField3", ""),
        new("CustomField4", ""),
    ];

    /// <summary>The 16 fields plus a valid CheckMacValue (last, as ECPay posts it).</summary>
    public static readonly KeyValuePair<string, string>[] SignedReturnUrlFields =
        [.. ReturnUrlFields, new(CheckMacValue.FieldName, CheckMacValue.Compute(ReturnUrlFields, Credentials.HashKey, Credentials.HashIv))];

    /// <summary>The signed post as the form body ECPay sends (percent-encoded UTF-8).</summary>
    public static readonly string SignedReturnUrlBody = EcpayForm.ToFormBody(SignedReturnUrlFields);

    public static readonly Dictionary<string, string> SignedReturnUrlDictionary =
        SignedReturnUrlFields.ToDictionary(f => f.Key, f => f.Value, StringComparer.Ordinal);
}
