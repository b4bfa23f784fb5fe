using EcpayEvents.Ecpay;
using EcpayEvents.Hosting;
using EcpayEvents.Payments.Timeouts;

namespace EcpayEvents.Timeouts;

/// <summary>QueryTradeInfo calls counted by answer (a fixed set), and ECPay's 403s on their own.</summary>
public static class MeasuredQueryTradeInfo
{
    /// <summary>The answer dimension of a cool-down answer given without asking ECPay (after a 403).</summary>
    public const string CoolDown = "CoolDown";

    public static QueryTradeInfo Wrap(QueryTradeInfo query, EmfMetrics metrics) => async (merchantTradeNo, ct) =>
    {
        var result = await query(merchantTradeNo, ct);
        metrics.Count(MetricNames.QueryTradeInfoAnswer, MetricNames.AnswerDimension, Answer(result));
        if (result is QueryTradeInfoResult.Throttled { WithoutRequest: false }) metrics.Count(MetricNames.QueryTradeInfoThrottled);
        return result;
    };

    /// <summary>Paid, Unpaid, NeverChosePaymentMethod, NotFound, Unknown; Throttled, CoolDown; TransportFailed, TimedOut, HttpFailed, MacMismatch, EcpayError, Malformed.</summary>
    public static string Answer(QueryTradeInfoResult result) => result switch
    {
        QueryTradeInfoResult.Answered a => a.Trade.Status.ToString(),
        QueryTradeInfoResult.Throttled { WithoutRequest: true } => CoolDown,
        QueryTradeInfoResult.Throttled => "Throttled",
        QueryTradeInfoResult.TransportFailed => "TransportFailed",
        QueryTradeInfoResult.TimedOut => "TimedOut",
        QueryTradeInfoResult.HttpFailed => "HttpFailed",
        QueryTradeInfoResult.MacMismatch => "MacMismatch",
        QueryTradeInfoResult.EcpayError => "EcpayError",
        QueryTradeInfoResult.Malformed => "Malformed",
        _ => "Other",
    };
}
