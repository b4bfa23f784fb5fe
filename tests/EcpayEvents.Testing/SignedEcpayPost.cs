using System.Globalization;
using EcpayEvents.Ecpay;

namespace EcpayEvents.Testing;

/// <summary>
/// ECPay's posts and QueryTradeInfo answers as ECPay sends them, signed with a merchant's keys (ECPay's stage
/// merchant by default). Every field a builder takes has ECPay's sample value as its default.
/// </summary>
public static class SignedEcpayPost
{
    public static EcpayCredentials Credentials => EcpayCredentials.Stage;

    /// <summary>Sets CheckMacValue (replacing one already there) over the other fields.</summary>
    public static Dictionary<string, string> Sign(Dictionary<string, string> fields, EcpayCredentials? credentials = null)
    {
        var c = credentials ?? Credentials;
        fields.Remove(CheckMacValue.FieldName);
        fields[CheckMacValue.FieldName] = CheckMacValue.Compute(fields, c.HashKey, c.HashIv);
        return fields;
    }

    /// <summary>The fields in their order, without any CheckMacValue, then a CheckMacValue over them.</summary>
    public static List<KeyValuePair<string, string>> Sign(IEnumerable<KeyValuePair<string, string>> fields, EcpayCredentials? credentials = null)
    {
        var c = credentials ?? Credentials;
        var list = fields.Where(f => f.Key != CheckMacValue.FieldName).ToList();
        list.Add(new(CheckMacValue.FieldName, CheckMacValue.Compute(list, c.HashKey, c.HashIv)));
        return list;
    }

    /// <summary>A card payment's result (ReturnURL; OrderResultURL gets the same fields).</summary>
    public static Dictionary<string, string> ReturnUrl(string merchantTradeNo, long amount, string rtnCode = "1", string rtnMsg = "交易成功", string simulatePaid = "0",
        string? merchantId = null, string tradeNo = "2611250000000001", string? paymentDate = null, string tradeDate = "2026/11/25 11:59:00",
        string paymentTypeChargeFee = "10", EcpayCredentials? credentials = null) => Sign(new()
    {
        ["MerchantID"] = merchantId ?? (credentials ?? Credentials).MerchantId,
        ["MerchantTradeNo"] = merchantTradeNo,
        ["StoreID"] = "",
        ["RtnCode"] = rtnCode,
        ["RtnMsg"] = rtnMsg,
        ["TradeNo"] = tradeNo,
        ["TradeAmt"] = Amount(amount),
        ["PaymentDate"] = paymentDate ?? (rtnCode == "1" ? "2026/11/25 12:00:00" : ""),
        ["PaymentType"] = "Credit_CreditCard",
        ["PaymentTypeChargeFee"] = paymentTypeChargeFee,
        ["TradeDate"] = tradeDate,
        ["SimulatePaid"] = simulatePaid,
        ["CustomField1"] = "",
        ["CustomField2"] = "",
        ["CustomField3"] = "",
        ["CustomField4"] = "",
    }, credentials);

    /// <summary>PaymentInfoURL: an ATM virtual account issued (RtnCode 2), or not (any other code).</summary>
    public static Dictionary<string, string> AtmIssued(string merchantTradeNo, long amount, string rtnCode = "2", string tradeNo = "2611250000000002",
        string expireDate = "2026/11/28", string tradeDate = "2026/11/25 11:59:00") => Sign(new()
    {
        ["MerchantID"] = Credentials.MerchantId,
        ["MerchantTradeNo"] = merchantTradeNo,
        ["StoreID"] = "",
        ["RtnCode"] = rtnCode,
        ["RtnMsg"] = rtnCode == "2" ? "Get VirtualAccount Succeeded" : "Get VirtualAccount Failed",
        ["TradeNo"] = tradeNo,
        ["TradeAmt"] = Amount(amount),
        ["PaymentType"] = "ATM_TAISHIN",
        ["TradeDate"] = tradeDate,
        ["BankCode"] = rtnCode == "2" ? "812" : "",
        ["vAccount"] = rtnCode == "2" ? "9103522175887271" : "",
        ["ExpireDate"] = rtnCode == "2" ? expireDate : "",
        ["CustomField1"] = "",
        ["CustomField2"] = "",
        ["CustomField3"] = "",
        ["CustomField4"] = "",
    });

    /// <summary>PaymentInfoURL: a CVS payment code issued.</summary>
    public static Dictionary<string, string> CvsIssued(string merchantTradeNo, long amount) => Sign(new()
    {
        ["MerchantID"] = Credentials.MerchantId,
        ["MerchantTradeNo"] = merchantTradeNo,
        ["StoreID"] = "",
        ["RtnCode"] = "10100073",
        ["RtnMsg"] = "Get CVS Code Succeeded.",
        ["TradeNo"] = "2611250000000003",
        ["TradeAmt"] = Amount(amount),
        ["PaymentType"] = "CVS_CVS",
        ["TradeDate"] = "2026/11/25 11:59:00",
        ["PaymentNo"] = "LLL22251222",
        ["ExpireDate"] = "2026/12/02 11:59:00",
        ["Barcode1"] = "",
        ["Barcode2"] = "",
        ["Barcode3"] = "",
    });

    /// <summary>PaymentInfoURL: BARCODE payment slips issued.</summary>
    public static Dictionary<string, string> BarcodeIssued(string merchantTradeNo, long amount) => Sign(new()
    {
        ["MerchantID"] = Credentials.MerchantId,
        ["MerchantTradeNo"] = merchantTradeNo,
        ["StoreID"] = "",
        ["RtnCode"] = "10100073",
        ["RtnMsg"] = "Get Barcode Succeeded.",
        ["TradeNo"] = "2611250000000005",
        ["TradeAmt"] = Amount(amount),
        ["PaymentType"] = "BARCODE_BARCODE",
        ["TradeDate"] = "2026/11/25 11:59:00",
        ["PaymentNo"] = "",
        ["ExpireDate"] = "2026/12/02",
        ["Barcode1"] = "261202617",
        ["Barcode2"] = "1234567890123456",
        ["Barcode3"] = "120100000000300",
    });

    /// <summary>A QueryTradeInfo/V5 answer (TradeStatus 1: paid; 0: unpaid; 10200047: no such order).</summary>
    public static Dictionary<string, string> QueryTradeInfo(string merchantTradeNo, long amount, string tradeStatus = "1", string tradeNo = "2611250000000004",
        string? paymentDate = null, string tradeDate = "2026/11/25 11:59:00", string paymentType = "Credit_CreditCard", string paymentTypeChargeFee = "10",
        string itemName = "points", EcpayCredentials? credentials = null) => Sign(new()
    {
        ["MerchantID"] = (credentials ?? Credentials).MerchantId,
        ["MerchantTradeNo"] = merchantTradeNo,
        ["StoreID"] = "",
        ["TradeNo"] = tradeNo,
        ["TradeAmt"] = Amount(amount),
        ["PaymentDate"] = paymentDate ?? (tradeStatus == "1" ? "2026/11/25 12:00:00" : ""),
        ["PaymentType"] = paymentType,
        ["HandlingCharge"] = "0",
        ["PaymentTypeChargeFee"] = paymentTypeChargeFee,
        ["TradeDate"] = tradeDate,
        ["TradeStatus"] = tradeStatus,
        ["ItemName"] = itemName,
        ["CustomField1"] = "",
        ["CustomField2"] = "",
        ["CustomField3"] = "",
        ["CustomField4"] = "",
    }, credentials);

    private static string Amount(long amount) => amount.ToString(CultureInfo.InvariantCulture);
}
