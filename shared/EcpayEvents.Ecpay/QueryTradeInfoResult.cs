namespace EcpayEvents.Ecpay;

/// <summary>
/// What a QueryTradeInfo call came to. A result type rather than exceptions, because every outcome is
/// expected in normal operation and callers must handle each: switch over the cases.
/// Only <see cref="Answered"/> carries information about the trade.
/// </summary>
public abstract record QueryTradeInfoResult
{
    private QueryTradeInfoResult() { }

    /// <summary>ECPay answered and the CheckMacValue is valid.</summary>
    public sealed record Answered(PaymentResult Trade) : QueryTradeInfoResult;

    /// <summary>Connection refused/reset, DNS, TLS… after the retries.</summary>
    public sealed record TransportFailed(string Reason) : QueryTradeInfoResult;

    /// <summary>No answer within the attempt/total timeouts.</summary>
    public sealed record TimedOut(string Reason) : QueryTradeInfoResult;

    /// <summary>
    /// HTTP 403: ECPay blocks a merchant that queries too often (~30 minutes). Back off; do not retry soon.
    /// After a 403 the client remembers the block for <see cref="QueryTradeInfoOptions.ThrottleCoolDown"/> and
    /// answers this without calling ECPay (<see cref="WithoutRequest"/>), since every request would prolong it.
    /// </summary>
    public sealed record Throttled(string Body) : QueryTradeInfoResult
    {
        /// <summary>When this process will ask ECPay again (null: no cool-down configured).</summary>
        public DateTimeOffset? CoolDownUntil { get; init; }

        /// <summary>True when ECPay was not called: an earlier 403's cool-down is still running. <see cref="Body"/> is that 403's body.</summary>
        public bool WithoutRequest { get; init; }
    }

    /// <summary>Any other non-2xx status (after retries for 5xx).</summary>
    public sealed record HttpFailed(int StatusCode, string Body) : QueryTradeInfoResult;

    /// <summary>The answer carries a CheckMacValue that does not match: tampered, wrong keys, or an encoding mismatch.</summary>
    public sealed record MacMismatch(string Body, string Expected, string Received) : QueryTradeInfoResult;

    /// <summary>An answer without CheckMacValue: ECPay reporting an error (bad parameters, wrong MAC on our request…).</summary>
    public sealed record EcpayError(string Body, EcpayForm? Fields) : QueryTradeInfoResult
    {
        /// <summary>RtnMsg / message text when the body is a form, else the body itself.</summary>
        public string Message => Fields?["RtnMsg"] ?? Fields?["Message"] ?? Body;

        /// <summary>ECPay's code for the error: RtnCode, else TradeStatus, when the body is a form carrying one; null otherwise.</summary>
        public string? Code => NonEmpty(Fields?["RtnCode"]) ?? NonEmpty(Fields?["TradeStatus"]);

        private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }

    /// <summary>Signed, but not a valid answer to our question (missing/invalid fields, another order's number).</summary>
    public sealed record Malformed(string Reason, string Body) : QueryTradeInfoResult;
}
