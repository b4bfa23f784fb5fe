namespace EcpayEvents.Sandbox;

/// <summary>
/// The ECPay behaviours the sandbox can play, for every order (here) or one order (<see cref="OrderBehaviour"/>,
/// which wins). All off by default: the sandbox then answers the way the happy path expects. Changed at run
/// time by POST /sandbox/behaviour (a JSON object with the properties to change).
/// </summary>
public sealed class SandboxBehaviour
{
    /// <summary>QueryTradeInfo answers an unknown order without CheckMacValue (<c>TradeStatus=10200047&amp;RtnMsg=…</c>), as ECPay answers errors.</summary>
    public bool UnsignedNotFound { get; set; }
    /// <summary>QueryTradeInfo answers percent-encoded values and signs them as they appear in the body, not decoded.</summary>
    public bool RawSignedAnswers { get; set; }
    /// <summary>More QueryTradeInfo calls than this within <see cref="QueryRateWindow"/> answer HTTP 403 and start a block (0: no limit).</summary>
    public int QueryRateLimit { get; set; }
    public TimeSpan QueryRateWindow { get; set; } = TimeSpan.FromMinutes(1);
    /// <summary>How long every QueryTradeInfo call answers 403 after the limit was passed (查詢訂單 ?p=2890: 30 minutes).</summary>
    public TimeSpan QueryBlock { get; set; } = TimeSpan.FromMinutes(30);
    /// <summary>
    /// How long after the customer paid ECPay learns of it (then posts ReturnURL; until then QueryTradeInfo says
    /// TradeStatus 0): a card pending at the bank, ATM/CVS up to a day, BARCODE about two days (付款結果通知 ?p=2878).
    /// </summary>
    public TimeSpan CardReportLag { get; set; }
    public TimeSpan AtmReportLag { get; set; }
    public TimeSpan CvsReportLag { get; set; }
    public TimeSpan BarcodeReportLag { get; set; }
    public TimeSpan BnplReportLag { get; set; }

    public TimeSpan ReportLag(string paymentType) => paymentType.Split('_')[0] switch
    {
        "ATM" => AtmReportLag,
        "CVS" => CvsReportLag,
        "BARCODE" => BarcodeReportLag,
        "BNPL" => BnplReportLag,
        _ => CardReportLag,
    };
}

/// <summary>One order's behaviour (POST /sandbox/orders/{merchantTradeNo}/behaviour, also before the checkout); null keeps the sandbox's.</summary>
public sealed record OrderBehaviour(bool? UnsignedNotFound = null, bool? RawSignedAnswers = null, TimeSpan? ReportLag = null);
