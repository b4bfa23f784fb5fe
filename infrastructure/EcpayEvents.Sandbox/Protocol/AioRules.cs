namespace EcpayEvents.Sandbox.Protocol;

/// <summary>The AioCheckOut/V5 rules the sandbox enforces, from ECPay's own pages (not from the product's tables).</summary>
public static class AioRules
{
    // AioCheckOut/V5 (developers.ecpay.com.tw/?p=2864), field ChoosePayment.
    public const string All = "ALL", Credit = "Credit", WebAtm = "WebATM", Atm = "ATM", Cvs = "CVS", Barcode = "BARCODE",
        ApplePay = "ApplePay", Twqr = "TWQR", Bnpl = "BNPL";

    public static IReadOnlySet<string> ChoosePayments { get; } = new HashSet<string>(StringComparer.Ordinal) { All, Credit, WebAtm, Atm, Cvs, Barcode, ApplePay, Twqr, Bnpl };

    /// <summary>
    /// TotalAmount per ChoosePayment, inclusive TWD. ECPay's fee page (www.ecpay.com.tw/Business/Payment_Fees,
    /// "單筆訂單建立金額"): Credit 5–199,999, ATM/WebATM 11–49,999, CVS 33–6,000, BARCODE 17–20,000. Not on
    /// that page (assumed): BNPL from 3,000 as integrations report; ApplePay/TWQR/ALL the card range.
    /// </summary>
    public static (long Min, long Max) AmountRange(string choosePayment) => choosePayment switch
    {
        Credit or ApplePay or Twqr => (5, 199_999),
        Atm or WebAtm => (11, 49_999),
        Cvs => (33, 6_000),
        Barcode => (17, 20_000),
        Bnpl => (3_000, 199_999),
        _ => (1, 199_999),
    };

    // AioCheckOut/V5 (?p=2864): TradeDesc String(200), ItemName String(400), CustomField1–4 String(50), the URLs String(200).
    public const int TradeDescMax = 200, ItemNameMax = 400, CustomFieldMax = 50, UrlMax = 200;

    // 取號結果通知 (developers.ecpay.com.tw/?p=2881), field RtnCode: ATM 2, CVS/BARCODE 10100073 mean "number issued".
    public const int AtmNumberIssued = 2, StoreNumberIssued = 10100073;

    // 裕富無卡分期申請結果通知 (developers.ecpay.com.tw/?p=37517), field RtnCode: 2 means "application in progress".
    public const int BnplApplying = 2;

    // 查詢訂單 QueryTradeInfo/V5 (developers.ecpay.com.tw/?p=2890), field TradeStatus.
    public const string Unpaid = "0", Paid = "1", NeverChosePaymentMethod = "10200095", NotFound = "10200047";

    /// <summary>
    /// Where ECPay's back office offers 模擬付款 (付款結果通知, developers.ecpay.com.tw/?p=2878: "ATM、CVS、BARCODE
    /// 可透過廠商管理後台的『模擬付款』"): an issued ATM/CVS/BARCODE number, not a card.
    /// </summary>
    public static bool OffersSimulatePaid(string paymentType) =>
        paymentType.StartsWith("ATM_", StringComparison.Ordinal) || paymentType.StartsWith("CVS_", StringComparison.Ordinal)
        || paymentType.StartsWith("BARCODE_", StringComparison.Ordinal);
}
