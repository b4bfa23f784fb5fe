using System.Globalization;
using System.Text;
using System.Text.Json;
using EcpayEvents.Ecpay;
using EcpayEvents.Messaging;
using EcpayEvents.Payments.Settlement;

namespace EcpayEvents.LoadBench;

/// <summary>Genuine signed ReturnURL posts (ECPay's stage merchant) for the bench's deposits.</summary>
internal static class Payments
{
    public static readonly EcpayCredentials Credentials = EcpayCredentials.Stage;

    public static string TradeNo(string prefix, int i) => prefix + i.ToString("D8", CultureInfo.InvariantCulture);

    public static long Amount(int i) => 100 + i % 900;

    public static KeyValuePair<string, string>[] SignedFields(string prefix, int i)
    {
        var now = DateTime.UtcNow.AddHours(8).ToString("yyyy/MM/dd HH:mm:ss", CultureInfo.InvariantCulture);
        KeyValuePair<string, string>[] fields =
        [
            new("MerchantID", Credentials.MerchantId),
            new("MerchantTradeNo", TradeNo(prefix, i)),
            new("StoreID", ""),
            new("RtnCode", "1"),
            new("RtnMsg", "交易成功"),
            new("TradeNo", (2600000000000000L + i).ToString(CultureInfo.InvariantCulture)),
            new("TradeAmt", Amount(i).ToString(CultureInfo.InvariantCulture)),
            new("PaymentDate", now),
            new("PaymentType", "Credit_CreditCard"),
            new("PaymentTypeChargeFee", "12"),
            new("TradeDate", now),
            new("SimulatePaid", "0"),
            new("CustomField1", ""),
            new("CustomField2", ""),
            new("CustomField3", ""),
            new("CustomField4", ""),
        ];
        return [.. fields, new(CheckMacValue.FieldName, CheckMacValue.Compute(fields, Credentials.HashKey, Credentials.HashIv))];
    }

    public static byte[] ReturnUrlBody(string prefix, int i) => Encoding.UTF8.GetBytes(EcpayForm.ToFormBody(SignedFields(prefix, i)));

    /// <summary>The queue message Notifications would send for the post.</summary>
    public static string QueueMessage(string prefix, int i) => JsonSerializer.Serialize(
        new PaymentResultMessage(PaymentResultSource.ReturnUrl, SignedFields(prefix, i).ToDictionary(f => f.Key, f => f.Value, StringComparer.Ordinal), DateTimeOffset.UtcNow),
        PaymentResultJsonContext.Default.PaymentResultMessage);
}
