using System.Diagnostics.CodeAnalysis;

namespace EcpayEvents.Ecpay;

/// <summary>
/// The "payment number issued" post to PaymentInfoURL: RtnCode 2 (ATM) or
/// 10100073 (CVS/BARCODE) means the customer can now pay — not that they paid.
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

    public static PaymentInfo Parse(EcpayForm form)
    {
        var r = new FieldReader(form);
        var rtnCode = r.RequiredInt("RtnCode");
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
            BankCode = rtnCode == AtmNumberIssued ? r.Required("BankCode") : r.Optional("BankCode"),
            VAccount = rtnCode == AtmNumberIssued ? r.Required("vAccount") : r.Optional("vAccount"),
            PaymentNo = r.Optional("PaymentNo"),
            Barcode1 = r.Optional("Barcode1"),
            Barcode2 = r.Optional("Barcode2"),
            Barcode3 = r.Optional("Barcode3"),
            ExpireDate = r.IsPresent("ExpireDate") || rtnCode is AtmNumberIssued or CvsOrBarcodeNumberIssued
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
