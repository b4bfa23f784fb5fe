namespace EcpayEvents.Payments.Settlement;

/// <summary>What a piece of truth about a payment says, whatever its source.</summary>
public enum NoticeKind
{
    /// <summary>ReturnURL RtnCode 1, or QueryTradeInfo TradeStatus 1.</summary>
    Paid,
    /// <summary>ReturnURL RtnCode ≠ 1, or QueryTradeInfo TradeStatus 10200095 (no payment method chosen).</summary>
    NotPaid,
    /// <summary>PaymentInfoURL RtnCode 2 (ATM) or 10100073 (CVS/BARCODE): the customer can now pay.</summary>
    NumberIssued,
    /// <summary>PaymentInfoURL with any other RtnCode: issuing the number failed.</summary>
    IssueFailed,
    /// <summary>QueryTradeInfo TradeStatus 0, 10200047 or unknown: nothing settled yet; ask again later.</summary>
    NotYetPaid,
    /// <summary>
    /// A signed body posted to the other URL: RtnCode 1 (paid, e.g. a browser's OrderResultURL post) to
    /// PaymentInfoURL, or RtnCode 2/10100073 (number issued) to ReturnURL. The MAC does not cover which
    /// URL was posted to, so this is checked here; it is recorded and never applied.
    /// </summary>
    WrongEndpoint,
}
